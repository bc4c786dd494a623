// Forwarding with failover: before the first byte reaches the client, failures (connect error, retryable status,
// 429 with Retry-After, first-byte timeout) are retried on another backend within a bounded number of attempts
// and a total deadline. Returns the upstream response with its first body chunk already read, so a stream that
// stalls before its first token can still fail over.
import type { ModelRoute } from '../runtime-model/compile.ts';
import { LightAbort, type AbortLike } from '../util/abort.ts';
import type { TenantConfig } from '../config/schema.ts';
import { errors, type HttpError } from '../api/errors.ts';
import { decide, type Decision } from '../routing/decide.ts';
import { type RoutingInput, uncachedChars } from '../routing/policies/policy.ts';
import type { AttemptLease, BackendState, BackendStates } from './backend-state.ts';
import type { Outcome } from './breaker.ts';
import { UpstreamFailure, type UpstreamClient, type UpstreamResponse } from './types.ts';

export interface ForwardInput {
  route: ModelRoute;
  routing: RoutingInput;
  config: TenantConfig;
  path: string;
  body: string;
  headers: Record<string, string>;
  /** Aborted when the client goes away. */
  clientSignal: AbortLike;
  now: () => number;
}

export interface AttemptRecord {
  backend: string;
  outcome: string;
  ms: number;
}

export interface Forwarded {
  decision: Decision;
  response: UpstreamResponse;
  /** First body chunk (null if the body was empty). */
  first: Uint8Array | null;
  /** Per-attempt abort; abort it to cancel the upstream request. */
  controller: LightAbort;
  state: BackendState;
  attempts: AttemptRecord[];
  /** Time spent waiting on upstreams (for the overhead figure). */
  upstreamMs: number;
  dispatchedAt: number;
  /**
   * Ends the attempt: gives the backend's in-flight slot back and tells its breaker how the inference went
   * (a stream counts as a success only once it completed). The first call counts; later calls do nothing.
   */
  settle(outcome: Outcome): void;
  /** The response made progress (a chunk): the attempt's in-flight lease runs on. */
  renew(): void;
  /** How to end this response's work if its lease expires (its own context will not). */
  onAbandon(run: () => void): void;
}

/** Beyond its own timeouts, how long an attempt may go without progress before its slot is taken back. */
const LEASE_GRACE_MS = 5_000;

/** After the first byte a healthy attempt hands a chunk at least every idleMs (upstream) + clientReadMs (client). */
function leaseTtlAfterFirstByte(t: TenantConfig['timeouts']): number {
  return t.idleMs + t.clientReadMs + LEASE_GRACE_MS;
}

export interface ForwardDeps {
  client: UpstreamClient;
  states: BackendStates;
}

/** Waits `ms`, or less if the signal aborts first (the caller checks the signal afterwards). */
function sleep(ms: number, signal: AbortLike): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** How an upstream status counts for the backend's health: 5xx fails it; 429 and other 4xx say nothing. */
export function outcomeOfStatus(status: number): Outcome {
  return status >= 500 ? 'failure' : status >= 400 ? 'neutral' : 'success';
}

function parseRetryAfterMs(v: string | null): number | null {
  if (!v) return null;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

/**
 * One attempt on one backend: its in-flight lease, its abort, and, once its response is handed over, what the
 * caller settles (Forwarded). A class rather than closures per attempt.
 */
class Attempt implements Forwarded {
  readonly controller = new LightAbort();
  readonly lease: AttemptLease;
  response!: UpstreamResponse;
  first: Uint8Array | null = null;
  upstreamMs = 0;
  dispatchedAt = 0;
  /** The first-byte timer fired (the abort is ours, not the client's or the backend's). */
  timedOut = false;
  /** Called back (readAllText's progress), so a bound function. */
  readonly renew: () => void;
  private readonly trial: boolean;
  private readonly onClientAbort: () => void;
  private settled = false;
  private abandon: (() => void) | undefined;

  constructor(
    private readonly input: ForwardInput,
    private readonly health: TenantConfig['health'],
    readonly decision: Decision,
    readonly state: BackendState,
    readonly attempts: AttemptRecord[],
    now: number,
    ttlMs: number,
    prefillChars: number,
  ) {
    this.trial = state.breaker.onSend();
    this.lease = state.begin(
      now,
      ttlMs,
      () => {
        this.settle('neutral');
        this.abandon?.();
      },
      prefillChars,
    );
    this.renew = () => this.lease.renew(input.now());
    this.onClientAbort = () => this.controller.abort();
    input.clientSignal.addEventListener('abort', this.onClientAbort, { once: true });
  }

  settle(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    const { input, state } = this;
    state.end(this.lease);
    let clientGone: boolean;
    try {
      clientGone = input.clientSignal.aborted;
      input.clientSignal.removeEventListener('abort', this.onClientAbort);
    } catch {
      clientGone = true; // settled from another request's context (an expired lease): that request is gone
    }
    // Whatever the upstream did, a request the client abandoned says nothing about the backend.
    state.breaker.onOutcome(clientGone && outcome === 'failure' ? 'neutral' : outcome, this.trial, input.now(), this.health);
  }

  onAbandon(run: () => void): void {
    this.abandon = run;
  }
}

function timeOut(a: Attempt): void {
  a.timedOut = true;
  a.controller.abort();
}

export async function forward(input: ForwardInput, deps: ForwardDeps): Promise<Forwarded> {
  const { config, route } = input;
  const { retry, timeouts, health } = config;
  const start = input.now();
  const deadline = start + retry.deadlineMs;
  const tried = new Set<string>();
  const attempts: AttemptRecord[] = [];
  let lastError: HttpError | null = null;
  let upstreamMs = 0;
  // A policy may want fresher shared state before it places this request (a bounded board lookup that never
  // rejects, BoardLookup); most requests get undefined and go on at once.
  const prepared = route.pool.policy.prepare?.(input.routing, route.pool.backends.length);
  let lookupMs: number | undefined;
  if (prepared) {
    await prepared;
    lookupMs = input.now() - start; // reported in the decision header and Server-Timing
  }

  deps.states.expire(start);
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    if (input.clientSignal.aborted) throw errors.clientClosed();
    const now = input.now();
    if (attempt > 1 && now >= deadline) break;
    const decision = decide(route, { ...input.routing, now }, deps.states, tried, attempt);
    if (!decision) {
      if (tried.size === 0) throw errors.noBackend(route.pool.name);
      break;
    }
    if (lookupMs !== undefined) decision.lookupMs = lookupMs;
    const backend = decision.backend;
    tried.add(backend.id);
    const state = deps.states.get(backend.url);
    // The slot is a lease: if this request's context dies before it settles (workerd drops a request whose
    // client left without a word), the slot comes back by itself and the attempt's abandon hook ends the work.
    // Its prefill work, for prefill-aware policies: the prompt less what the policy believed is cached there.
    const prefillChars = uncachedChars(input.routing, decision.matchedBlocks ?? 0);
    const a = new Attempt(input, health, decision, state, attempts, now, timeouts.firstByteMs + LEASE_GRACE_MS, prefillChars);
    const headers = backend.authorization ? { ...input.headers, authorization: backend.authorization } : input.headers;
    const sentAt = input.now();
    a.dispatchedAt = sentAt;
    // One timer per attempt bounds connect + headers + first body chunk; it aborts the attempt, which rejects
    // whichever read is pending (no per-phase races or extra promises on the hot path).
    const timer = setTimeout(timeOut, timeouts.firstByteMs, a);
    try {
      const res = await deps.client.send({
        baseUrl: backend.url,
        path: input.path,
        method: 'POST',
        headers,
        body: input.body,
        signal: a.controller,
        connectTimeoutMs: timeouts.connectMs,
      });
      // Engines that piggy-back their load on responses (the simulator's x-sim-*) refresh it for free.
      const piggy = backend.adapter.parseLoadHeaders((n) => res.header(n));
      if (piggy.running !== undefined || piggy.waiting !== undefined || piggy.kvUsage !== undefined) state.reportEngineLoad(piggy, input.now());
      if (retry.retryOnStatus.includes(res.status)) {
        clearTimeout(timer);
        res.body.cancel();
        const ms = input.now() - sentAt;
        upstreamMs += ms;
        attempts.push({ backend: backend.id, outcome: `status ${res.status}`, ms });
        a.settle(outcomeOfStatus(res.status));
        if (res.status === 429) {
          // Overload is not a fault: no breaker penalty. Wait out a short Retry-After, else move on at once.
          const retryAfter = res.header('retry-after');
          lastError = errors.rateLimited(backend.id, retryAfter);
          const wait = parseRetryAfterMs(retryAfter);
          if (wait !== null && wait <= retry.maxRetryAfterMs && input.now() + wait < deadline && attempt < retry.maxAttempts) {
            await sleep(wait, input.clientSignal);
          }
        } else {
          lastError = errors.upstreamStatus(backend.id, res.status);
        }
        continue;
      }
      let first = res.body.readNow?.();
      if (first === undefined) first = await res.body.read();
      state.firstByte(a.lease, input.now(), leaseTtlAfterFirstByte(timeouts));
      clearTimeout(timer);
      const ms = input.now() - sentAt;
      upstreamMs += ms;
      attempts.push({ backend: backend.id, outcome: `status ${res.status}`, ms });
      // The caller owns the response now and settles the attempt when it is done with the body.
      a.response = res;
      a.first = first;
      a.upstreamMs = upstreamMs;
      return a;
    } catch (err) {
      clearTimeout(timer);
      const ms = input.now() - sentAt;
      upstreamMs += ms;
      if (input.clientSignal.aborted) {
        a.settle('neutral');
        throw errors.clientClosed();
      }
      const f = a.timedOut
        ? new UpstreamFailure('timeout', `no first byte within ${timeouts.firstByteMs} ms`)
        : err instanceof UpstreamFailure
          ? err
          : new UpstreamFailure('reset', String(err));
      attempts.push({ backend: backend.id, outcome: f.kind, ms });
      a.settle('failure');
      lastError = errors.upstreamFailure(backend.id, f);
    }
  }
  throw lastError ?? errors.noBackend(route.pool.name);
}
