// `kvroute replay --e2e`: the same trace through the real router's HTTP path (Node runtime, R router
// instances that share nothing) to a real simulator process (`kvroute sim`, one engine per backend). The
// simulator runs `speedup` times faster than the wall clock; its timings come back in simulated ms
// (x-sim-ttft-ms, x-sim-e2e-ms), its cache hits in usage.prompt_tokens_details.cached_tokens. Engine load
// reaches the routers as in production: piggy-backed x-sim-* headers (and /metrics probes when enabled).
import { freePortRange } from '../../util/ports.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startNodeRouter, type NodeRouter } from '../../node.ts';
import { parseTenantConfig } from '../../config/schema.ts';
import type { PolicyOptions } from '../../config/affinity.ts';
import { sha256Hex } from '../../tenants/keys.ts';
import { MemoryTenantStore } from '../../tenants/store.ts';
import { fmix32 } from '../../util/hash.ts';
import { LoadIntegrator, quantile } from './metrics.ts';
import { labBody, prepareTrace } from './prepare.ts';
import { traceBounds } from './run.ts';
import { DEFAULT_POPULARITY_SYNC_MS } from '../policies/shared-popularity.ts';
import { type BoardCall, PoolBoard, PopularityExchange } from '../popularity-exchange.ts';
import { DEFAULT_LOOKUP_RTT_MS } from './simulate.ts';
import type { TraceRecord } from './trace.ts';

const BIN = fileURLToPath(new URL('../../../bin/kvroute.mjs', import.meta.url));
const MODEL = 'llama-3.1-8b';
const KEY = 'sk-lab-replay-0123456789';

export interface E2eOptions {
  policy: string;
  policyOptions?: PolicyOptions;
  backends: number;
  replicas: number;
  capacityTokens: number;
  timeScale?: number;
  /** Simulated ms per wall ms. */
  speedup?: number;
  scrapeMs?: number;
  seed?: number;
  blockChars: number;
  maxBlocks: number;
  /**
   * Also scrape /metrics with the router's health probes. Off by default: engine load then reaches the
   * routers only piggy-backed on responses (x-sim-* headers), like the in-process `--load-signal piggyback`.
   */
  probes?: boolean;
  /** As in the in-process lab: popularity exchange with one board per pool every this many simulated ms (0: off). */
  popularitySyncMs?: number;
  /** Simulated ms every call to the board takes (as the in-process lab charges a lookup); default 30. */
  lookupRttMs?: number;
  onProgress?: (done: number, total: number) => void;
}

const isLookupPolicy = (p: string) => p === 'default' || p === 'prefix-affinity';

export async function replayE2e(records: readonly TraceRecord[], o: E2eOptions) {
  const speedup = o.speedup ?? 20;
  const timeScale = o.timeScale ?? 1;
  const seed = o.seed ?? 1;
  const base = await freePortRange(o.backends);
  const sim = spawn(
    process.execPath,
    [BIN, 'sim', '--backends', String(o.backends), '--base-port', String(base), '--time-scale', String(speedup), '--capacity-tokens', String(o.capacityTokens)],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' } },
  );
  let simErr = '';
  sim.stderr!.on('data', (d) => (simErr += d));
  const urls = Array.from({ length: o.backends }, (_, i) => `http://127.0.0.1:${base + i}`);
  const routers: NodeRouter[] = [];
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (sim.exitCode !== null) throw new Error(`kvroute sim exited ${sim.exitCode}: ${simErr}`);
      const ready = await Promise.all(urls.map((u) => fetch(`${u}/health`).then((r) => r.ok, () => false)));
      if (ready.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`kvroute sim did not become ready: ${simErr}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const store = new MemoryTenantStore();
    const parsed = parseTenantConfig({
      models: { [MODEL]: { pool: 'lab' } },
      pools: {
        lab: {
          backends: urls.map((url, i) => ({ id: `b${i}`, url })),
          affinity: {
            policy: o.policy === 'default' ? 'prefix-affinity' : o.policy,
            // The lookup's age threshold is in the router's (wall) clock: scale it like the other timers.
            options: isLookupPolicy(o.policy) ? { ...o.policyOptions, lookupAfterMs: Math.round((o.policyOptions?.lookupAfterMs ?? 1000) / speedup) } : (o.policyOptions ?? {}),
            blockChars: o.blockChars,
            maxBlocks: o.maxBlocks,
          },
        },
      },
      timeouts: { connectMs: 5_000, firstByteMs: 600_000, idleMs: 600_000 },
      retry: { maxAttempts: 1 },
      // The load scrape every `scrapeMs` of simulated time, as in the in-process lab.
      health: { failureThreshold: 1000, cooldownMs: 1_000, probeIntervalMs: Math.max(20, Math.round((o.scrapeMs ?? 1000) / speedup)) },
      limits: { maxBodyBytes: 8 * 1024 * 1024 },
    });
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    await store.putTenant('lab', parsed.value);
    await store.putKey({ keyId: 'lab', tenantId: 'lab', hash: await sha256Hex(KEY), createdAt: new Date().toISOString() });
    // One popularity board for the pool, as the Durable Object is on Workers; each router exchanges with it on
    // a timer, every popularitySyncMs of simulated time.
    const boards = new Map<string, PoolBoard>();
    // Every call takes the lab's board round trip (DEFAULT_LOOKUP_RTT_MS of simulated time), as the in-process
    // simulation charges a lookup.
    const boardCall: BoardCall = async (scope, halfLife, req) => {
      await new Promise((res) => setTimeout(res, (o.lookupRttMs ?? DEFAULT_LOOKUP_RTT_MS) / speedup));
      let b = boards.get(scope);
      if (!b) boards.set(scope, (b = new PoolBoard(halfLife)));
      return b.exchange(req);
    };
    const syncMs = o.popularitySyncMs ?? DEFAULT_POPULARITY_SYNC_MS;
    for (let k = 0; k < o.replicas; k++) {
      const popularity = syncMs > 0 ? { exchange: new PopularityExchange(boardCall, 0), syncMs: Math.max(10, syncMs / speedup) } : undefined;
      routers.push(await startNodeRouter({ store, port: 0, probes: o.probes ?? false, cacheTtlMs: 3_600_000, popularity, routers: o.replicas === 1 ? 'one' : 'many' }));
    }

    const t0 = records.length ? records[0]!.timestamp : 0;
    const start = performance.now() + 200;
    let done = 0;
    const results = await Promise.all(
      records.map(async (r, index) => {
        const arrival = (r.timestamp - t0) / timeScale; // simulated ms
        const wait = start + arrival / speedup - performance.now();
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
        const replica = o.replicas === 1 ? 0 : fmix32((index * 0x9e3779b1) ^ seed) % o.replicas;
        const sent = performance.now();
        const res = await fetch(`${routers[replica]!.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
          body: JSON.stringify({ ...labBody(r, MODEL), ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
        });
        if (!res.ok || !res.body) {
          o.onProgress?.(++done, records.length);
          return { ok: false as const, status: res.status, body: await res.text() };
        }
        // Timings are wall-clock times the simulator compressed `speedup` times: scale them back.
        let firstAt: number | undefined;
        let usage: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens?: number } } | undefined;
        let buffer = '';
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (firstAt === undefined) firstAt = performance.now();
          buffer += decoder.decode(chunk, { stream: true });
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
            const data = JSON.parse(line.slice(6)) as { usage?: typeof usage };
            if (data.usage) usage = data.usage;
          }
        }
        const end = performance.now();
        o.onProgress?.(++done, records.length);
        return {
          ok: true as const,
          arrival,
          backend: Number((res.headers.get('x-kvroute-backend') ?? 'b-1').slice(1)),
          ttft: ((firstAt ?? end) - sent) * speedup,
          e2e: (end - sent) * speedup,
          promptTokens: usage?.prompt_tokens ?? r.input_length,
          cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
        };
      }),
    );

    const ok = results.filter((x) => x.ok);
    const failed = results.length - ok.length;
    const perBackend = new Array<number>(o.backends).fill(0);
    const events: { t: number; b: number; d: number }[] = [];
    for (const x of ok) {
      perBackend[x.backend]!++;
      events.push({ t: x.arrival, b: x.backend, d: 1 }, { t: x.arrival + x.e2e, b: x.backend, d: -1 });
    }
    const load = new LoadIntegrator(o.backends);
    for (const e of events.sort((a, b) => a.t - b.t || a.d - b.d)) load.add(e.b, e.d, e.t);
    const prompt = ok.reduce((a, x) => a + x.promptTokens, 0);
    const cached = ok.reduce((a, x) => a + x.cachedTokens, 0);
    const trace = prepareTrace(records, { hash: { blockChars: o.blockChars, maxBlocks: o.maxBlocks } });
    const bounds = traceBounds(trace, o.capacityTokens * o.backends);
    const hitRate = prompt ? cached / prompt : 0;
    return {
      mode: 'e2e',
      requests: records.length,
      failed,
      firstError: results.find((x) => !x.ok),
      policy: o.policy === 'default' ? 'prefix-affinity' : o.policy,
      backends: o.backends,
      replicas: o.replicas,
      capacityTokens: o.capacityTokens,
      timeScale,
      speedup,
      hitRate,
      boundHitRate: bounds.bound,
      pooledHitRate: bounds.pooled,
      pooledShare: bounds.pooled ? hitRate / bounds.pooled : 0,
      ttftP50Ms: quantile(ok.map((x) => x.ttft), 0.5),
      ttftP99Ms: quantile(ok.map((x) => x.ttft), 0.99),
      e2eP50Ms: quantile(ok.map((x) => x.e2e), 0.5),
      imbalance: load.imbalance,
      instantImbalance: load.instantImbalance,
      perBackendShare: perBackend.map((c) => (ok.length ? c / ok.length : 0)),
    };
  } finally {
    await Promise.all(routers.map((r) => r.close()));
    sim.kill('SIGTERM');
  }
}
