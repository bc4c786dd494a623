// `kvroute replay --e2e`: the same trace through the real router's HTTP path (Node runtime, R router
// instances that share nothing) to engines over HTTP: a simulator process it starts (`kvroute sim`, one engine
// per backend, `speedup` times faster than the wall clock, so its times are scaled back to simulated ms), or
// engines that already run (`backendUrls`: llama.cpp, vLLM, SGLang, `kvroute engine`, ...), in real time.
// Engine load reaches the routers as in production: piggy-backed x-sim-* headers from the simulator, the
// engines' metrics through the router's probes for real engines.
// What the engines did is read two ways: each response's cache receipt (usage.prompt_tokens_details or
// llama.cpp's timings, read with the engine kind's adapter, as the router reads it) and the engines' own
// counter of processed prompt tokens (their metrics, before and after the replay).
import { adapterFor, type EngineKind } from '../../gpu-backends/adapters/index.ts';
import { startNodeRouter, type NodeRouter } from '../../routes/node.ts';
import { parseTenantConfig } from '../../src/config/schema.ts';
import type { PolicyOptions } from '../../src/config/affinity.ts';
import { CompletionStreamObserver } from '../../src/stream/sse.ts';
import { sha256Hex } from '../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../src/tenants/store.ts';
import { fmix32 } from '../../src/util/hash.ts';
import { readProcessedPromptTokens } from './engine-counters.ts';
import { externalBackends, startSimulatorBackends, type LabBackends } from './lab-backends.ts';
import { LoadIntegrator, quantile } from './metrics.ts';
import { labBody, prepareTrace } from './prepare.ts';
import { previousTurns } from './previous-turns.ts';
import { traceBounds } from './run.ts';
import { DEFAULT_POLICY } from '../../src/routing/policies/index.ts';
import { DEFAULT_POPULARITY_SYNC_MS } from '../../src/routing/policies/shared-popularity.ts';
import { PoolBoard } from '../../src/routing/popularity-board.ts';
import { type BoardCall, PopularityExchange } from '../../src/routing/popularity-exchange.ts';
import { DEFAULT_LOOKUP_RTT_MS } from './simulate.ts';
import { CHARS_PER_TOKEN } from './synthetic-text.ts';
import type { TraceRecord } from './trace.ts';
import { ownOptions, type PolicyName } from '../../src/config/policy-options.ts';
import { affinityPolicyNames } from '../../src/config/affinity.ts';

const MODEL = 'llama-3.1-8b';
const KEY = 'sk-lab-replay-0123456789';

export interface E2eOptions {
  policy: string;
  policyOptions?: PolicyOptions;
  /** Simulated engines to start; with `backendUrls`, their count. */
  backends: number;
  replicas: number;
  capacityTokens: number;
  timeScale?: number;
  /** Simulated ms per wall ms (simulated engines only). */
  speedup?: number;
  scrapeMs?: number;
  seed?: number;
  blockChars: number;
  maxBlocks: number;
  /**
   * Also scrape /metrics with the router's health probes. Off by default for the simulator: engine load then
   * reaches the routers only piggy-backed on responses (x-sim-* headers), like the in-process `--load-signal
   * piggyback`. Always on with `backendUrls` (real engines piggy-back nothing).
   */
  probes?: boolean;
  /** As in the in-process lab: popularity exchange with one board per pool every this many simulated ms (0: off). */
  popularitySyncMs?: number;
  /** Simulated ms every call to the board takes (as the in-process lab charges a lookup); default 30. */
  lookupRttMs?: number;
  /** Engines that already run, one backend each; the replay starts no simulator. */
  backendUrls?: readonly string[];
  /** Engine kind of `backendUrls` (default openai-compatible: no load metrics, receipts still read). */
  engine?: EngineKind;
  /** Sent to `backendUrls` as `Authorization: Bearer`. */
  backendApiKey?: string;
  /** Model name sent to the engines (default: the lab's public model name). */
  backendModel?: string;
  /** Characters of prompt text per trace token (default 4, the simulator's; 1 for a byte-level vocabulary). */
  charsPerToken?: number;
  /** Caps each request's output tokens (the trace's output_length otherwise). */
  maxTokens?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * A request that continues an earlier one (previous-turns.ts) is sent at its trace time or when that request's
   * response has ended, whichever is later, as a client sends its next turn only after the answer. Off: open loop,
   * every request at its trace time.
   */
  turnsWait?: boolean;
  /** Also return every request's outcome in order (`perRequest`: arrival, backend, times, receipt, the router's decision). */
  keepRequests?: boolean;
}

const isLookupPolicy = (p: string) => p === 'default' || p === 'prefix-affinity';
/** The policy's name as the factory knows it ('default' is kvroute's default). */
function policyNameOf(p: string): PolicyName {
  const name = p === 'default' ? DEFAULT_POLICY : p;
  if (!(affinityPolicyNames as string[]).includes(name)) throw new Error(`unknown policy '${p}'; the policies are: default, ${affinityPolicyNames.join(', ')}`);
  return name as PolicyName;
}

/** The engines' counters of processed prompt tokens; a failed scrape costs the counters, not the replay. */
async function readCounters(urls: readonly string[], b: LabBackends): Promise<{ counters: number[] | null; error?: string }> {
  try {
    return { counters: await readProcessedPromptTokens(urls, b.engine, b.apiKey) };
  } catch (e) {
    return { counters: null, error: (e as Error).message };
  }
}

interface Served {
  ok: true;
  arrival: number;
  backend: number;
  ttft: number;
  e2e: number;
  /** The response's cache receipt; null when it stated none. */
  promptTokens: number | null;
  cachedTokens: number | null;
  /** The router's x-kvroute-decision header. */
  decision: string | null;
}
interface Failed {
  ok: false;
  status: number;
  body: string;
}

export async function replayE2e(records: readonly TraceRecord[], o: E2eOptions) {
  const timeScale = o.timeScale ?? 1;
  const seed = o.seed ?? 1;
  const external = o.backendUrls !== undefined;
  const engine = o.engine ?? 'openai-compatible';
  const adapter = adapterFor(external ? engine : 'vllm');
  const backends: LabBackends = external
    ? await externalBackends(o.backendUrls!, engine, adapter.healthPath, o.backendApiKey)
    : await startSimulatorBackends(o.backends, { speedup: o.speedup ?? 20, capacityTokens: o.capacityTokens });
  const { urls, speedup } = backends;
  const n = urls.length;
  const routers: NodeRouter[] = [];
  let closing: Promise<unknown> | undefined;
  const closeRouters = () => (closing ??= Promise.all(routers.map((r) => r.close())));
  try {
    const store = new MemoryTenantStore();
    const parsed = parseTenantConfig({
      models: { [MODEL]: { pool: 'lab', ...(o.backendModel ? { model: o.backendModel } : {}) } },
      pools: {
        lab: {
          backends: urls.map((url, i) => ({ id: `b${i}`, url, ...(external ? { engine } : {}), ...(backends.apiKey ? { apiKey: backends.apiKey } : {}) })),
          affinity: {
            policy: policyNameOf(o.policy),
            // The lookup's age threshold is in the router's (wall) clock: scale it like the other timers.
            // The lab's one bag of options, narrowed to what this policy reads (a tenant config refuses the rest).
            options: ownOptions(
              policyNameOf(o.policy),
              isLookupPolicy(o.policy) ? { ...o.policyOptions, lookupAfterMs: Math.round((o.policyOptions?.lookupAfterMs ?? 1000) / speedup) } : (o.policyOptions ?? {}),
            ),
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
      // The backends are the ones the user named (loopback included), as in local development.
      routers.push(
        await startNodeRouter({ store, port: 0, probes: external || (o.probes ?? false), cacheTtlMs: 3_600_000, popularity, localDev: true, routers: o.replicas === 1 ? 'one' : 'many' }),
      );
    }

    const before = await readCounters(urls, backends);
    const t0 = records.length ? records[0]!.timestamp : 0;
    const start = performance.now() + 200;
    let done = 0;
    const previous = o.turnsWait ? previousTurns(records) : undefined;
    const sent: Promise<Served | Failed>[] = [];
    const send = async (r: TraceRecord, index: number): Promise<Served | Failed> => {
      const scheduled = (r.timestamp - t0) / timeScale; // simulated ms
      // Never before its time: a timer may fire up to a millisecond early (Node's timers count whole ms), and a
      // request sent early would make its recorded arrival (its scheduled time) later than it was.
      for (let wait = start + scheduled / speedup - performance.now(); wait > 0; wait = start + scheduled / speedup - performance.now()) {
        await new Promise((res) => setTimeout(res, wait));
      }
      const p = previous?.[index] ?? -1;
      if (p >= 0) await sent[p]!.catch(() => undefined);
      const arrival = p >= 0 ? Math.max(scheduled, (performance.now() - start) * speedup) : scheduled;
      const replica = o.replicas === 1 ? 0 : fmix32((index * 0x9e3779b1) ^ seed) % o.replicas;
      const body = labBody(r, MODEL, Infinity, o.charsPerToken ?? CHARS_PER_TOKEN);
      if (o.maxTokens !== undefined) body.max_tokens = Math.min(body.max_tokens, o.maxTokens);
      const sentAt = performance.now();
      const res = await fetch(`${routers[replica]!.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ ...body, ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
      });
      if (!res.ok || !res.body) return { ok: false, status: res.status, body: await res.text() };
      // TTFT: the first event that carries output text. Times are wall-clock times the simulator compressed
      // `speedup` times: scaled back.
      const observer = new CompletionStreamObserver({ startedAt: sentAt, receipts: adapter });
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) observer.push(chunk, performance.now());
      const end = performance.now();
      const s = observer.end(end);
      if (s.error || !s.done) return { ok: false, status: res.status, body: s.error ?? 'stream ended without [DONE]' };
      return {
        ok: true,
        arrival,
        backend: Number((res.headers.get('x-kvroute-backend') ?? 'b-1').slice(1)),
        ttft: (s.ttftMs ?? s.firstByteMs ?? end - sentAt) * speedup,
        e2e: (end - sentAt) * speedup,
        promptTokens: s.receipt?.promptTokens ?? null,
        cachedTokens: s.receipt?.cachedTokens ?? null,
        decision: res.headers.get('x-kvroute-decision'),
      };
    };
    const results = await Promise.all(
      records.map((r, index) =>
        (sent[index] = send(r, index)).then(
          (x) => (o.onProgress?.(++done, records.length), x),
          (e: unknown): Failed => (o.onProgress?.(++done, records.length), { ok: false, status: 0, body: e instanceof Error ? e.message : String(e) }),
        ),
      ),
    );
    // The routers count receipts after each response (deferred work, settled by close) and the engines' counters
    // are read once every response has ended.
    const after = before.counters ? await readCounters(urls, backends) : before;
    await closeRouters();
    const routerReceipts = urls.map((url) => {
      const sum = { responses: 0, withReceipt: 0, promptTokens: 0, cachedTokens: 0 };
      for (const router of routers) {
        const r = router.platform.states.get(url).receipts;
        sum.responses += r.responses;
        sum.withReceipt += r.withReceipt;
        sum.promptTokens += r.promptTokens;
        sum.cachedTokens += r.cachedTokens;
      }
      return sum;
    });

    const ok = results.filter((x): x is Served => x.ok);
    const failed = results.length - ok.length;
    const perBackend = new Array<number>(n).fill(0);
    const events: { t: number; b: number; d: number }[] = [];
    for (const x of ok) {
      perBackend[x.backend]!++;
      events.push({ t: x.arrival, b: x.backend, d: 1 }, { t: x.arrival + x.e2e, b: x.backend, d: -1 });
    }
    const load = new LoadIntegrator(n);
    for (const e of events.sort((a, b) => a.t - b.t || a.d - b.d)) load.add(e.b, e.d, e.t);
    const withReceipt = ok.filter((x) => x.promptTokens !== null);
    const prompt = withReceipt.reduce((a, x) => a + x.promptTokens!, 0);
    const cached = withReceipt.reduce((a, x) => a + x.cachedTokens!, 0);
    const engineProcessed = before.counters && after.counters ? after.counters.map((c, i) => c - before.counters![i]!) : null;
    const trace = prepareTrace(records, { hash: { blockChars: o.blockChars, maxBlocks: o.maxBlocks } });
    const bounds = traceBounds(trace, o.capacityTokens * n);
    const hitRate = prompt ? cached / prompt : 0;
    const ttft = ok.map((x) => x.ttft);
    const busiest = ok.length ? Math.max(...perBackend) / ok.length : 0;
    return {
      mode: 'e2e',
      engine: backends.engine,
      requests: records.length,
      failed,
      firstError: results.find((x) => !x.ok),
      policy: policyNameOf(o.policy),
      backends: n,
      replicas: o.replicas,
      capacityTokens: o.capacityTokens,
      timeScale,
      speedup,
      /** Cached / prompt tokens over the responses' receipts. */
      hitRate,
      boundHitRate: bounds.bound,
      pooledHitRate: bounds.pooled,
      pooledShare: bounds.pooled ? hitRate / bounds.pooled : 0,
      ttftP50Ms: quantile(ttft, 0.5),
      ttftP90Ms: quantile(ttft, 0.9),
      ttftP99Ms: quantile(ttft, 0.99),
      e2eP50Ms: quantile(ok.map((x) => x.e2e), 0.5),
      e2eP99Ms: quantile(ok.map((x) => x.e2e), 0.99),
      imbalance: load.imbalance,
      instantImbalance: load.instantImbalance,
      perBackendShare: perBackend.map((c) => (ok.length ? c / ok.length : 0)),
      /** Requests of the busiest backend over the mean per backend (as the in-process lab's busiestShare). */
      busiestShare: busiest * n,
      /** The busiest backend's fraction of the requests. */
      busiestRequestShare: busiest,
      /** From the responses' receipts (engine-reported): prompt tokens, those served from cache, and the rest. */
      responsesWithReceipt: withReceipt.length,
      promptTokens: prompt,
      cachedTokens: cached,
      processedPromptTokens: prompt - cached,
      /** From the engines' own metrics (delta over the replay); null when the engine kind has no such counter. */
      engineProcessedPromptTokens: engineProcessed ? engineProcessed.reduce((a, b) => a + b, 0) : null,
      engineCountersError: before.error ?? after.error,
      /**
       * Per backend: the hit rate of the receipts the router recorded (cached / prompt tokens), and the engine's
       * own (1 - processed tokens by its counter / the receipts' prompt tokens; null without a counter).
       */
      perBackendHitRate: routerReceipts.map((r, i) => ({
        receipts: r.promptTokens ? r.cachedTokens / r.promptTokens : 0,
        engine: engineProcessed ? (r.promptTokens ? 1 - engineProcessed[i]! / r.promptTokens : 0) : null,
        responses: r.responses,
        withReceipt: r.withReceipt,
        promptTokens: r.promptTokens,
        cachedTokens: r.cachedTokens,
        engineProcessedPromptTokens: engineProcessed?.[i] ?? null,
      })),
      ...(o.keepRequests ? { perRequest: results } : {}),
    };
  } finally {
    await closeRouters();
    backends.close();
  }
}
