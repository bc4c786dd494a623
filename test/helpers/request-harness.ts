// A request-path harness: the real handleInference / forward / breaker / relay, with a scripted fake upstream
// in place of the network, and the clock driven by vitest's fake timers (performance.now and setTimeout move
// together). Each backend answers from a script: a status, headers, body chunks with waits between them, a
// stall, a broken connection, or a refused one.
import { vi } from 'vitest';
import type { AbortLike } from '../../src/util/abort.ts';
import { parseTenantConfig, type TenantConfigInput } from '../../src/config/schema.ts';
import { handleInference, type InferenceDeps, type InferenceResult, type RequestRecord } from '../../src/core/inference.ts';
import type { InferenceKind } from '../../src/api/openai-api.ts';
import type { PolicyFactory } from '../../src/runtime-model/compile.ts';
import { defaultPolicyFactory } from '../../src/routing/policy-factory.ts';
import { TenantDirectory } from '../../src/tenants/directory.ts';
import { sha256Hex } from '../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../src/tenants/store.ts';
import { BackendStates } from '../../src/upstream/backend-state.ts';
import { UpstreamFailure, type BodyReader, type UpstreamClient, type UpstreamRequest, type UpstreamResponse } from '../../src/upstream/types.ts';

/** A body chunk (the string 'stall': no more bytes until the request is aborted), a wait, or a broken connection. */
export type Step = string | { waitMs: number } | { fail: string };

export interface Answer {
  /** Refuse the connection (UpstreamFailure 'connect'). */
  refuse?: boolean;
  /** Wait before the response head (a stall before the first byte when long). */
  headMs?: number;
  status?: number;
  headers?: Record<string, string>;
  body?: readonly Step[];
}

const enc = new TextEncoder();

/** An SSE body of `n` content chunks and [DONE], optionally `waitMs` apart. */
export function sseBody(n: number, waitMs = 0): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < n; i++) {
    if (waitMs && i > 0) steps.push({ waitMs });
    steps.push(`data: {"choices":[{"index":0,"delta":{"content":"t${i} "}}]}\n\n`);
  }
  steps.push('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3}}\n\ndata: [DONE]\n\n');
  return steps;
}

export const SSE = { 'content-type': 'text/event-stream' };
export const JSON_HEAD = { 'content-type': 'application/json' };
export const COMPLETION = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1 } });

function aborted(signal: AbortLike): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new UpstreamFailure('aborted', 'aborted'));
    signal.addEventListener('abort', () => reject(new UpstreamFailure('aborted', 'aborted')), { once: true });
  });
}

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A scripted upstream: `answer(url, n)` gives the n-th (0-based) answer of the backend at `url`. */
export class FakeUpstream implements UpstreamClient {
  readonly sent: UpstreamRequest[] = [];
  /** Bodies still open (neither finished nor cancelled). */
  open = 0;
  private counts = new Map<string, number>();

  constructor(private answer: (url: string, n: number) => Answer) {}

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    this.sent.push(req);
    const n = this.counts.get(req.baseUrl) ?? 0;
    this.counts.set(req.baseUrl, n + 1);
    const a = this.answer(req.baseUrl, n);
    const gone = aborted(req.signal);
    gone.catch(() => {});
    if (a.headMs) await Promise.race([wait(a.headMs), gone]);
    if (a.refuse) throw new UpstreamFailure('connect', 'ECONNREFUSED');
    if (req.signal.aborted) throw new UpstreamFailure('aborted', 'aborted');
    const steps = [...(a.body ?? [])];
    let done = false;
    this.open++;
    // cancel() ends a read that waits, as done: what a fetch body's reader does (web streams resolve a pending
    // read with done when the stream is cancelled).
    let wake: () => void = () => {};
    const cancelled = new Promise<void>((r) => (wake = r));
    const finish = () => {
      if (!done) {
        done = true;
        this.open--;
        wake();
      }
    };
    const body: BodyReader = {
      read: async () => {
        for (;;) {
          if (done) throw new UpstreamFailure('aborted', 'body cancelled');
          const s = steps.shift();
          if (s === undefined) {
            finish();
            return null;
          }
          if (s === 'stall') {
            await Promise.race([gone, cancelled]);
            if (done) return null;
          }
          else if (typeof s === 'string') return enc.encode(s);
          else if ('waitMs' in s) await Promise.race([wait(s.waitMs), gone]);
          else {
            finish();
            throw new UpstreamFailure('reset', s.fail);
          }
        }
      },
      cancel: finish,
    };
    const headers: Record<string, string> = a.headers ?? JSON_HEAD;
    return { status: a.status ?? 200, header: (name) => headers[name.toLowerCase()] ?? null, body };
  }

  countFor(url: string): number {
    return this.counts.get(url) ?? 0;
  }
}

export interface Harness {
  deps: InferenceDeps;
  states: BackendStates;
  upstream: FakeUpstream;
  records: RequestRecord[];
  key: string;
  urls: string[];
  /** Sends one request; `abort` aborts it (the client went away). */
  request(body: object, opts?: { kind?: InferenceKind; headers?: Record<string, string>; signal?: AbortSignal }): Promise<InferenceResult>;
  inflight(): number;
}

/** A tenant with `n` backends (http://b0 ... ) answered by `answer`, using fake timers; `policyFactory` replaces the pools' policies. */
export async function harness(n: number, answer: (url: string, k: number) => Answer, config: Partial<TenantConfigInput> = {}, policyFactory: PolicyFactory = defaultPolicyFactory): Promise<Harness> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'Date', 'performance'] });
  const urls = Array.from({ length: n }, (_, i) => `http://b${i}`);
  const parsed = parseTenantConfig({
    models: { m: { pool: 'p' } },
    pools: { p: { backends: urls.map((url, i) => ({ id: `b${i}`, url, engine: 'openai-compatible' })) } },
    health: { probeIntervalMs: 0 },
    ...config,
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const store = new MemoryTenantStore();
  await store.putTenant('t', parsed.value);
  const key = 'kvr-test-key-0123456789';
  await store.putKey({ keyId: 'k1', tenantId: 't', hash: await sha256Hex(key), createdAt: new Date(0).toISOString() });
  const states = new BackendStates();
  const upstream = new FakeUpstream(answer);
  const records: RequestRecord[] = [];
  const deps: InferenceDeps = {
    directory: new TenantDirectory(store, policyFactory, 60_000),
    states,
    client: upstream,
    now: () => performance.now(),
    defer: (p) => void p.catch(() => {}),
    onRecord: (rec) => void records.push(rec),
  };
  // Authenticate once up front: the first lookup hashes the key with WebCrypto, real async work that fake time does
  // not wait for, so a test advancing the clock could otherwise race the request to its first timer.
  await deps.directory.authenticate(`Bearer ${key}`);
  return {
    deps, states, upstream, records, key, urls,
    request(body, opts = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...opts.headers };
      const kind = opts.kind ?? 'chat';
      return handleInference(
        {
          kind,
          path: kind === 'chat' ? '/v1/chat/completions' : '/v1/completions',
          header: (h) => headers[h] ?? null,
          readBody: async () => JSON.stringify(body),
          signal: opts.signal ?? new AbortController().signal,
        },
        deps,
      );
    },
    inflight: () => urls.reduce((s, u) => s + states.get(u).inflight, 0),
  };
}

const dec = new TextDecoder();

/** Reads a result to its end (as a client that keeps up). */
export async function drain(r: InferenceResult): Promise<string> {
  if ('body' in r) return r.body;
  let out = '';
  for (;;) {
    const c = await r.stream.next();
    if (!c) return out;
    out += dec.decode(c);
  }
}

/** Settles a promise while advancing fake time in steps (the promise may wait on timers). */
export async function settle<T>(p: Promise<T>, maxMs = 600_000, stepMs = 50): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  let failed = false;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (e: unknown) => {
      done = true;
      failed = true;
      error = e;
    },
  );
  for (let t = 0; t <= maxMs && !done; t += stepMs) await vi.advanceTimersByTimeAsync(stepMs);
  if (!done) throw new Error(`did not settle within ${maxMs} ms of fake time`);
  if (failed) throw error;
  return value as T;
}
