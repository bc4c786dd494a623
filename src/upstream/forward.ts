// Forwarding with failover: before the first byte reaches the client, failures (connect error, retryable status,
// 429 with Retry-After, first-byte timeout) are retried on another backend within a bounded number of attempts
// and a total deadline. Returns the upstream response with its first body chunk already read, so a stream that
// stalls before its first token can still fail over.
import type { ModelRoute } from '../config/compile.ts';
import type { TenantConfig } from '../config/schema.ts';
import { errors, HttpError } from '../errors.ts';
import { decide, type Decision } from '../routing/decide.ts';
import type { RoutingInput } from '../routing/policy.ts';
import type { BackendState, BackendStates } from './backend-state.ts';
import { UpstreamFailure, type UpstreamClient, type UpstreamResponse } from './types.ts';

export interface ForwardInput {
  route: ModelRoute;
  routing: RoutingInput;
  config: TenantConfig;
  path: string;
  body: string;
  headers: Record<string, string>;
  /** Aborted when the client goes away. */
  clientSignal: AbortSignal;
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
  /** Per-attempt controller; abort it to cancel the upstream request. */
  controller: AbortController;
  state: BackendState;
  attempts: AttemptRecord[];
  /** Time spent waiting on upstreams (for the overhead figure). */
  upstreamMs: number;
  dispatchedAt: number;
  /** Gives the backend's in-flight slot back; call exactly once when the body is finished or abandoned. */
  release(): void;
}

export interface ForwardDeps {
  client: UpstreamClient;
  states: BackendStates;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function parseRetryAfterMs(v: string | null): number | null {
  if (!v) return null;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
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

  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    if (input.clientSignal.aborted) throw new HttpError(499, 'invalid_request_error', 'Client closed the request.', 'client_closed');
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
    state.breaker.onSend();
    state.inflight++;
    state.awaitingFirstByte++;
    let awaiting = true;
    const firstByteSeen = () => {
      if (awaiting) {
        awaiting = false;
        state.awaitingFirstByte--;
      }
    };
    const controller = new AbortController();
    const onClientAbort = () => controller.abort();
    input.clientSignal.addEventListener('abort', onClientAbort, { once: true });
    const headers = backend.authorization ? { ...input.headers, authorization: backend.authorization } : input.headers;
    const sentAt = input.now();
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        firstByteSeen();
        state.inflight--;
        input.clientSignal.removeEventListener('abort', onClientAbort);
      }
    };
    // One timer per attempt bounds connect + headers + first body chunk; it aborts the attempt, which rejects
    // whichever read is pending (no per-phase races or extra promises on the hot path).
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeouts.firstByteMs);
    try {
      const res = await deps.client.send({
        baseUrl: backend.url,
        path: input.path,
        method: 'POST',
        headers,
        body: input.body,
        signal: controller.signal,
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
        release();
        if (res.status === 429) {
          // Overload is not a fault: no breaker penalty. Wait out a short Retry-After, else move on at once.
          lastError = new HttpError(429, 'rate_limit_error', `All backends are rate limited (last: ${backend.id}). Retry later.`, 'upstream_rate_limited', null,
            res.header('retry-after') ? { 'retry-after': res.header('retry-after')! } : {});
          const wait = parseRetryAfterMs(res.header('retry-after'));
          if (wait !== null && wait <= retry.maxRetryAfterMs && input.now() + wait < deadline && attempt < retry.maxAttempts) await sleep(wait);
        } else {
          state.breaker.onFailure(input.now(), health.failureThreshold, health.cooldownMs);
          lastError = errors.upstreamFailed(`backend '${backend.id}' answered ${res.status}`);
        }
        continue;
      }
      const first = await res.body.read();
      firstByteSeen();
      clearTimeout(timer);
      const ms = input.now() - sentAt;
      upstreamMs += ms;
      attempts.push({ backend: backend.id, outcome: `status ${res.status}`, ms });
      if (res.status < 500) state.breaker.onSuccess();
      // The caller owns the response now and calls `release` when it is done with the body.
      return { decision, response: res, first, controller, state, attempts, upstreamMs, dispatchedAt: sentAt, release };
    } catch (err) {
      clearTimeout(timer);
      release();
      const ms = input.now() - sentAt;
      upstreamMs += ms;
      if (input.clientSignal.aborted) throw new HttpError(499, 'invalid_request_error', 'Client closed the request.', 'client_closed');
      const f = timedOut
        ? new UpstreamFailure('timeout', `no first byte within ${timeouts.firstByteMs} ms`)
        : err instanceof UpstreamFailure
          ? err
          : new UpstreamFailure('reset', String(err));
      attempts.push({ backend: backend.id, outcome: f.kind, ms });
      state.breaker.onFailure(input.now(), health.failureThreshold, health.cooldownMs);
      lastError = f.kind === 'timeout' ? errors.upstreamTimeout(`backend '${backend.id}': ${f.message}`) : errors.upstreamFailed(`backend '${backend.id}': ${f.message}`);
    }
  }
  throw lastError ?? errors.noBackend(route.pool.name);
}
