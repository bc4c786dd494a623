// The fault matrix's moving parts, all real processes over loopback: a router (`kvroute serve` on Node, or the
// Worker in `wrangler dev`), one simulated vLLM process per backend (so one can be killed), a ClickHouse the
// router writes its events to, and a load driver that records what each client saw.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { spawnLocalWorker } from '../../../bin/commands/local-worker.ts';
import { putTenant, waitForHealth } from '../../../bin/commands/demo.ts';
import { EVENTS_TABLE } from '../../../src/analytics/migrations.ts';
import { createClickHouseClient } from '../../../src/analytics/sinks/clickhouse.ts';
import { backendsOf, bodyReader } from '../../helpers/responses.ts';
import { freePort } from '../analytics/clickhouse-server.ts';

const BIN = fileURLToPath(new URL('../../../bin/kvroute.mjs', import.meta.url));
export const ADMIN_TOKEN = 'fault-matrix-admin-token-0123456789abcdef';
export const MODEL = 'llama-3.1-8b';
const ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

export type Runtime = 'node' | 'workerd';

export interface Router {
  runtime: Runtime;
  url: string;
  /** The child process started: `kvroute serve`, or `kvroute local-worker` (workerd runs below it). */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts a router with analytics going to ClickHouse `database` at `clickhouseUrl`. workerd: `without` leaves
 * bindings of wrangler.toml out (e.g. EVENTS and ANALYTICS_DB: events straight to ClickHouse, no local Queue or D1);
 * `direct` serves the Worker on its own socket, without Miniflare's entry worker in front.
 */
export async function startRouter(runtime: Runtime, clickhouseUrl: string, database: string, opts: { without?: string[]; direct?: boolean } = {}): Promise<Router> {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), `kvr-faults-${runtime}-`));
  if (runtime === 'workerd') {
    const w = spawnLocalWorker({ port, adminToken: ADMIN_TOKEN, persistTo: data, output: process.env.KVR_DEBUG ? 'inherit' : 'ignore', vars: { CLICKHOUSE_URL: clickhouseUrl, CLICKHOUSE_DATABASE: database }, without: opts.without, direct: opts.direct });
    await waitForHealth(w.url, 90_000, w.alive);
    return { runtime, url: w.url, pid: w.process.pid!, stop: () => w.stop() };
  }
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--data-dir', data, '--clickhouse', clickhouseUrl], {
    // Local development: the simulators are on loopback (docs/security.md).
    env: { ...ENV, KVROUTE_ADMIN_TOKEN: ADMIN_TOKEN, CLICKHOUSE_DATABASE: database, KVROUTE_LOCAL_DEV: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, 30_000, () => child.exitCode === null).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}: ${err}`);
  });
  return { runtime, url, pid: child.pid!, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** One `kvroute sim` process per backend, so a backend can be killed and restarted on its port. */
export class Backends {
  private children: ChildProcess[] = [];
  private constructor(readonly ports: number[], private readonly args: string[]) {}

  static async start(n: number, args: string[] = ['--time-scale', '20']): Promise<Backends> {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) ports.push(await freePort());
    const b = new Backends(ports, args);
    await Promise.all(ports.map((_, i) => b.firstLaunch(i)));
    return b;
  }

  /**
   * The first start of backend i. A port found free can be taken before the backend binds it (another process's
   * listener, or an outgoing connection's local port from the same ephemeral range): then it starts on another.
   */
  private async firstLaunch(i: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.launch(i);
      } catch (err) {
        if (attempt === 3 || !/exited/.test((err as Error).message)) throw err;
        this.ports[i] = await freePort();
      }
    }
  }

  get urls(): string[] {
    return this.ports.map((p) => `http://127.0.0.1:${p}`);
  }

  async launch(i: number): Promise<void> {
    const child = spawn(process.execPath, [BIN, 'sim', '--backends', '1', '--base-port', String(this.ports[i]), '--model', MODEL, ...this.args], { env: ENV, stdio: 'ignore' });
    this.children[i] = child;
    const url = this.urls[i]!;
    for (let t = 0; ; t++) {
      if (child.exitCode !== null) throw new Error(`kvroute sim on ${url} exited ${child.exitCode}`);
      if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) return;
      if (t > 300) throw new Error(`kvroute sim on ${url} did not start`);
      await sleep(100);
    }
  }

  /** SIGKILL: the backend's open connections break at once. */
  async kill(i: number): Promise<void> {
    await stopChild(this.children[i]!, 'SIGKILL');
  }

  async setFaults(i: number, faults: object): Promise<void> {
    const r = await fetch(`${this.urls[i]}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) }).catch(() => null);
    // Turning refusal on may close the very connection that asked for it.
    if (r && !r.ok) throw new Error(`setFaults ${i}: ${r.status} ${await r.text()}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => c && stopChild(c)));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A tenant whose backends are `urls`, with fault-friendly timeouts; returns its API key. */
export function newTenant(router: Router, id: string, urls: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const config = {
    models: { [MODEL]: { pool: 'p' } },
    pools: { p: { backends: urls.map((url, i) => ({ id: `b${i}`, url, engine: 'vllm' })) } },
    health: { probeIntervalMs: 0, cooldownMs: 1_500, failureThreshold: 3 },
    timeouts: { connectMs: 1_000, firstByteMs: 3_000, idleMs: 2_000, requestBodyMs: 5_000, clientReadMs: 3_000 },
    retry: { maxAttempts: 3, deadlineMs: 10_000, maxRetryAfterMs: 1_500 },
    ...extra,
  };
  return putTenant(router.url, ADMIN_TOKEN, id, config);
}

/** What one client saw. */
export interface Seen {
  status: number;
  backend: string | null;
  /** ok: a complete answer; sse_error: a 200 stream that ended with an error event; http_error: a non-2xx answer;
   *  network: the connection failed; aborted: this client left on purpose; truncated: a stream with no end. */
  kind: 'ok' | 'sse_error' | 'http_error' | 'network' | 'aborted' | 'truncated';
  code: string | null;
  /** The error body was OpenAI JSON (for http_error) or the error event was (for sse_error). */
  openaiShape: boolean;
  startedAt: number;
  ms: number;
  /** The client library's error, for network failures. */
  error?: string;
}

const dispatcher = new Agent({ connections: 256, keepAliveTimeout: 10_000 });

function isOpenAiError(x: unknown): x is { error: { message: string; type: string; code: string | null } } {
  const e = (x as { error?: { message?: unknown; type?: unknown; code?: unknown } })?.error;
  return !!e && typeof e.message === 'string' && typeof e.type === 'string' && (e.code === null || typeof e.code === 'string');
}

export interface RequestOpts {
  stream: boolean;
  /** Chat Completions (default) or the Responses API. */
  api?: 'chat' | 'responses';
  maxTokens?: number;
  /** Leave mid-stream, once this many data events have arrived. */
  abortAfterEvents?: number;
  prompt?: string;
}

/** Where each API is served, its body, and how its answer tells a complete response. */
const APIS = {
  chat: {
    path: '/v1/chat/completions',
    body: (o: RequestOpts, prompt: string) => ({ model: MODEL, stream: o.stream, max_tokens: o.maxTokens ?? 24, messages: [{ role: 'user', content: prompt }] }),
    complete: (j: { choices?: unknown }) => Array.isArray(j.choices),
    streamEnded: (text: string) => text.trimEnd().endsWith('data: [DONE]'),
  },
  responses: {
    path: '/v1/responses',
    body: (o: RequestOpts, prompt: string) => ({ model: MODEL, stream: o.stream, max_output_tokens: o.maxTokens ?? 24, input: prompt }),
    complete: (j: { object?: unknown }) => j.object === 'response',
    streamEnded: (text: string) => /(^|\n)event: response\.(completed|incomplete)\n/.test(text),
  },
} as const;

const DATA_EVENT = 'data: {';

/** Requests sent, and connection errors before any response byte that were retried (as the SDKs do), per cause. */
export const clientStats = { sent: 0, retried: {} as Record<string, number> };

/**
 * One request as an SDK makes it: a connection that fails before any byte of a response is retried once (the
 * openai SDKs retry these by default; a keep-alive connection the server closed just as it was reused is one).
 * What was retried is counted in `clientStats`, so a test can bound it.
 */
export async function send(router: Router, key: string, o: RequestOpts): Promise<Seen> {
  clientStats.sent++;
  const first = await sendOnce(router, key, o);
  if (first.kind !== 'network' || first.status !== 0) return first;
  clientStats.retried[first.error ?? ''] = (clientStats.retried[first.error ?? ''] ?? 0) + 1;
  return sendOnce(router, key, o);
}

async function sendOnce(router: Router, key: string, o: RequestOpts): Promise<Seen> {
  const startedAt = performance.now();
  const ac = new AbortController();
  const base = { startedAt, backend: null as string | null, code: null as string | null, openaiShape: true };
  const api = APIS[o.api ?? 'chat'];
  const body = JSON.stringify(api.body(o, o.prompt ?? `question ${Math.random().toString(36).slice(2)}`));
  let res: Response;
  try {
    res = await fetch(`${router.url}${api.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
      signal: ac.signal,
      // @ts-expect-error undici's dispatcher option on Node's fetch
      dispatcher,
    });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return { ...base, status: 0, kind: 'network', ms: performance.now() - startedAt, error: `${cause?.code ?? ''} ${cause?.message ?? String(err)}` };
  }
  const backend = res.headers.get('x-kvroute-backend');
  const done = (kind: Seen['kind'], code: string | null = null, openaiShape = true): Seen => ({ ...base, status: res.status, backend, kind, code, openaiShape, ms: performance.now() - startedAt });
  try {
    if (res.status >= 400) {
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      if (!isOpenAiError(parsed) && process.env.KVR_DEBUG) console.error(`[faults] ${res.status} not OpenAI JSON: ${text.slice(0, 300)}`);
      return done('http_error', isOpenAiError(parsed) ? parsed.error.code : null, isOpenAiError(parsed) && (res.headers.get('content-type') ?? '').includes('application/json'));
    }
    if (!o.stream) return done(api.complete((await res.json<unknown>()) as object) ? 'ok' : 'truncated');
    const reader = bodyReader(res);
    const dec = new TextDecoder();
    let text = '';
    let events = 0;
    for (;;) {
      const { done: end, value } = await reader.read();
      if (end) break;
      // Data events that end in the new text (a match starting this close to the old end was not whole before).
      const from = Math.max(0, text.length - DATA_EVENT.length + 1);
      text += dec.decode(value, { stream: true });
      for (let i = text.indexOf(DATA_EVENT, from); i >= 0; i = text.indexOf(DATA_EVENT, i + 1)) events++;
      if (o.abortAfterEvents !== undefined && events >= o.abortAfterEvents) {
        ac.abort();
        return done('aborted');
      }
    }
    const errLine = text.split('\n').find((l) => l.startsWith('data: {"error"'));
    if (errLine) {
      const parsed = JSON.parse(errLine.slice(6)) as unknown;
      return done('sse_error', isOpenAiError(parsed) ? parsed.error.code : null, isOpenAiError(parsed));
    }
    return done(api.streamEnded(text) ? 'ok' : 'truncated');
  } catch (err) {
    if (process.env.KVR_DEBUG && o.abortAfterEvents === undefined) console.error(`[faults] network error in the body: ${String((err as Error).cause ?? err)}`);
    return done(o.abortAfterEvents !== undefined ? 'aborted' : 'network');
  }
}

/** `total` requests from `concurrency` closed-loop clients; `opts(i)` shapes request i. */
export async function load(router: Router, key: string, total: number, concurrency: number, opts: (i: number) => RequestOpts): Promise<Seen[]> {
  const out: Seen[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      for (let i = next++; i < total; i = next++) out[i] = await send(router, key, opts(i));
    }),
  );
  return out;
}

/** Something to do once the load has run for `atMs`. */
export interface Step {
  atMs: number;
  run(): Promise<void> | void;
}

/** Closed-loop load for `ms`; each of `steps` runs once, in order, when its time has come (faults on a schedule). */
export async function loadFor(router: Router, key: string, ms: number, concurrency: number, opts: () => RequestOpts, steps: Step[] = []): Promise<Seen[]> {
  const out: Seen[] = [];
  const t0 = performance.now();
  const todo = [...steps].sort((a, b) => a.atMs - b.atMs);
  let stop = false;
  const ticker = (async () => {
    while (!stop || todo.length) {
      while (todo.length && performance.now() - t0 >= todo[0]!.atMs) await todo.shift()!.run();
      if (stop && todo.length) break;
      await sleep(50);
    }
  })();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() - t0 < ms) out.push(await send(router, key, opts()));
    }),
  );
  stop = true;
  await ticker;
  for (const s of todo) await s.run(); // steps the load outlasted still happen (restarts must not be skipped)
  return out;
}

export async function inflight(router: Router): Promise<number> {
  const backends = await backendsOf(await fetch(`${router.url}/admin/backends`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
  return Object.values(backends).reduce((s, b) => s + b.inflight, 0);
}

/** Polls until in-flight is 0 (bounded); returns the last value seen. */
export async function inflightSettles(router: Router, timeoutMs = 15_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let n = await inflight(router);
  while (n > 0 && Date.now() < end) {
    await sleep(200);
    n = await inflight(router);
  }
  return n;
}

/** Request events stored for `tenant` (distinct event ids), polled until it reaches `expected` or time is up. */
export async function storedEvents(clickhouseUrl: string, database: string, tenant: string, expected: number, timeoutMs = 30_000): Promise<number> {
  if (!/^[\w.-]+$/.test(tenant)) throw new Error(`unsafe tenant id ${tenant}`);
  const client = createClickHouseClient({ url: clickhouseUrl, database, requestTimeoutMs: 5_000 });
  const end = Date.now() + timeoutMs;
  let n: number;
  try {
    for (;;) {
      try {
        const rs = await client.query({ query: `SELECT uniqExact(event_id) AS n FROM \`${database}\`.${EVENTS_TABLE} WHERE tenant = '${tenant}' AND type = 'request'`, format: 'JSONEachRow' });
        n = Number((await rs.json<{ n: string }>())[0]!.n);
      } catch {
        n = -1; // the store is down or not migrated yet
      }
      if (n >= expected || Date.now() > end) return n;
      await sleep(500);
    }
  } finally {
    await client.close();
  }
}

/** Share of answered requests per backend id. */
export function shares(seen: Seen[]): Record<string, number> {
  const counts: Record<string, number> = {};
  let n = 0;
  for (const s of seen) {
    if (!s.backend) continue;
    counts[s.backend] = (counts[s.backend] ?? 0) + 1;
    n++;
  }
  for (const k of Object.keys(counts)) counts[k] = counts[k]! / n;
  return counts;
}

export function tally(seen: Seen[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const s of seen) {
    const k = s.kind === 'http_error' ? `http_${s.status}` : s.kind === 'sse_error' ? `sse_${s.code}` : s.kind;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}
