// The in-process lab: a discrete-event simulation that routes a prepared trace through real policy objects
// onto N simulated engines (gpu-backends/simulator/engine.ts). One global clock: the next event is the next
// arrival, the next engine step end, or the next load scrape, whichever comes first.
//
// R router replicas share nothing: each request goes to a random replica, and each replica has its own policy
// instance and its own in-flight counts. Engine load (running, waiting, KV usage) reaches every replica only
// through a scrape every `scrapeMs` (like the router's /metrics scrape), so it is up to that much stale.
import { Engine, type EngineEvent, uncachedPromptTokens } from '../../gpu-backends/simulator/engine.ts';
import { engineConfig } from '../../gpu-backends/simulator/profiles.ts';
import type { PolicyOptions } from '../../src/config/affinity.ts';
import { fmix32 } from '../../src/util/hash.ts';
import { CounterRate } from '../../src/upstream/fill-rate.ts';
import { createPolicy } from '../../src/routing/policies/index.ts';
import { DEFAULT_POPULARITY_HALF_LIFE } from '../../src/routing/policies/prefix-popularity.ts';
import { DEFAULT_POPULARITY_SYNC_MS } from '../../src/routing/policies/shared-popularity.ts';
import { applyBoardAnswer, hasBoardRequest, newSharedViews, PoolBoard, takeBoardRequest } from '../../src/routing/popularity-board.ts';
import type { BoardLookup } from '../../src/routing/policies/board-lookup.ts';
import { type BackendLoad, type Candidate, type RoutingPolicy, uncachedChars } from '../../src/routing/policies/policy.ts';
import { LoadIntegrator, quantile } from './metrics.ts';
import { engineHashes, type LabRequest, type PreparedTrace } from './prepare.ts';

export interface SimulationOptions {
  policy: string;
  policyOptions?: PolicyOptions;
  backends: number;
  replicas: number;
  capacityTokens: number;
  /** Arrival times are divided by this (2 = twice the request rate). */
  timeScale?: number;
  /** Interval of the engine-load scrape seen by the routers (ms of simulated time). */
  scrapeMs?: number;
  /**
   * How engine load reaches the routers: 'scrape' (every scrapeMs, all backends, all replicas) or 'piggyback'
   * (a replica learns a backend's load from the response headers of the requests it sends there, as the
   * router does with the simulator's x-sim-* headers when /metrics probes are off).
   */
  loadSignal?: 'scrape' | 'piggyback';
  /**
   * Interval (ms) at which each replica exchanges prefix popularity with the shared board (the Durable Object
   * tier, shared-popularity.ts): it sends what it counted and takes the board's hot list. 0: replicas use their
   * own counts only. Default 2000.
   */
  popularitySyncMs?: number;
  /** Round trip (ms) of a policy's lookup at the board before placing a request (BoardLookup); default 30. */
  lookupRttMs?: number;
  /** Engine profile (gpu-backends/simulator/profiles.ts). */
  profile?: string;
  /**
   * Whether each replica's policy hears the engine's receipt of every response it placed (RoutingPolicy.onReceipt,
   * at the end of the response, as the router reads usage / timings then). Default true.
   */
  receipts?: boolean;
  seed?: number;
  /** Called now and then with the number of requests routed so far. */
  onProgress?: (done: number, total: number) => void;
  /** Called at each request's first token: where it went, why, and how much of its prompt was cached there. */
  onFirstToken?: (outcome: RequestOutcome) => void;
}

export interface RequestOutcome {
  /** Index of the request in the trace. */
  index: number;
  backend: number;
  replica: number;
  reason: string;
  promptTokens: number;
  cachedTokens: number;
  /** Prompt tokens the policy believed were cached where it sent the request (Selection.matchedBlocks). */
  believedTokens: number;
  ttftMs: number;
}

/** One backend's hit rate two ways: from the receipts of the requests it served, and from its engine's counters. */
export interface BackendHitRates {
  /** Cached / prompt tokens summed over the receipts of the requests it served. */
  receipts: number;
  /** Prefix-cache hits / queries of the engine itself (vLLM prefix_cache_*; llama.cpp prompt_tokens_cached / all). */
  engine: number;
}

export interface SimulationResult {
  requests: number;
  policy: string;
  backends: number;
  replicas: number;
  capacityTokens: number;
  timeScale: number;
  hitRate: number;
  ttftP50Ms: number;
  ttftP90Ms: number;
  ttftP99Ms: number;
  ttftMeanMs: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  imbalance: number;
  instantImbalance: number;
  perBackendShare: number[];
  preemptions: number;
  rejected: number;
  /** Requests that waited for a lookup at the board before being placed. */
  lookups: number;
  reasons: Record<string, number>;
  /** Prompt tokens of all requests, and those the engines had to process (not served from cache). */
  promptTokens: number;
  processedPromptTokens: number;
  /** Requests of the busiest backend over the mean per backend (1 = an even split). */
  busiestShare: number;
  /** Per backend: hit rate from receipts and from the engine's counters. */
  perBackendHitRate: BackendHitRates[];
  /** Requests that waited in an engine's queue for a free slot (llama.cpp). */
  deferred: number;
}

export const DEFAULT_LOOKUP_RTT_MS = 30;

interface Flight {
  index: number;
  arrival: number;
  backend: number;
  replica: number;
  promptTokens: number;
  reason: string;
  /** The prefill the platform counts for it while it awaits its first token (BackendLoad.prefillChars). */
  prefillChars: number;
  cachedTokens: number;
  request: LabRequest;
}

export function simulate(trace: PreparedTrace, opts: SimulationOptions): SimulationResult {
  const n = opts.backends;
  const R = opts.replicas;
  const timeScale = opts.timeScale ?? 1;
  const scrapeMs = opts.scrapeMs ?? 1000;
  const seed = opts.seed ?? 1;
  const config = engineConfig(opts.profile, { capacityTokens: opts.capacityTokens });
  const engines = Array.from({ length: n }, () => new Engine(config));
  const ids = Array.from({ length: n }, (_, i) => `b${i}`);
  const syncMs = opts.popularitySyncMs ?? DEFAULT_POPULARITY_SYNC_MS;
  const halfLife = opts.policyOptions?.popularityHalfLife ?? DEFAULT_POPULARITY_HALF_LIFE;
  const board = syncMs > 0 ? new PoolBoard(halfLife) : undefined;
  const views = Array.from({ length: R }, () => (board ? newSharedViews(halfLife) : undefined));

  // The shared board: each replica exchanges right after a decision if its last exchange is syncMs old, else
  // at that moment (the platform's flush in waitUntil / on its timer), and at once when its policy asks for a
  // lookup before placing a request (BoardLookup), which delays that request by lookupRttMs.
  const lastSync = Array.from({ length: R }, (_, k) => (syncMs * k) / R - syncMs); // staggered, as isolates start
  const flushAt = new Array<number>(R).fill(Infinity);
  let nextFlush = Infinity;
  const exchangeNow = (k: number, t: number, ask?: Int32Array) => {
    applyBoardAnswer(views[k]!, board!.exchange(takeBoardRequest(views[k]!, ask)));
    lastSync[k] = t;
    if (flushAt[k] !== Infinity) {
      flushAt[k] = Infinity;
      nextFlush = Math.min(...flushAt);
    }
  };
  const afterDecision = (k: number, t: number) => {
    const view = views[k];
    if (!view || !hasBoardRequest(view)) return;
    if (t >= lastSync[k]! + syncMs) exchangeNow(k, t);
    else if (flushAt[k] === Infinity) nextFlush = Math.min(nextFlush, (flushAt[k] = lastSync[k]! + syncMs));
  };
  const rttMs = opts.lookupRttMs ?? DEFAULT_LOOKUP_RTT_MS;
  let lookups = 0;
  // A replica's lookup exchanges with the board at once; the round trip is charged where the request waits.
  const lookupFor = (k: number): BoardLookup => ({
    ageMs: (now) => now - lastSync[k]!,
    refresh: (now, ask) => {
      exchangeNow(k, now, ask);
      lookups++;
      return Promise.resolve();
    },
  });
  const policies: RoutingPolicy[] = Array.from({ length: R }, (_, k) =>
    // The deployment, as a runtime states it: one replica serves the pool alone, several never do.
    createPolicy(opts.policy, { seed: seed * 7919 + k, ...opts.policyOptions }, { ...(views[k] ? { ...views[k], lookup: lookupFor(k) } : {}), routers: R === 1 ? 'one' : 'many' }),
  );
  const inflight = Array.from({ length: R }, () => new Array<number>(n).fill(0));
  const awaiting = Array.from({ length: R }, () => new Array<number>(n).fill(0));
  // Each replica's prefill still awaiting a first token per backend, in prompt characters (BackendState's sum).
  const awaitingChars = Array.from({ length: R }, () => new Array<number>(n).fill(0));
  const receipts = opts.receipts ?? true;
  const receiptTokens = Array.from({ length: n }, () => ({ prompt: 0, cached: 0 }));
  // Each replica's own in-flight count at the last scrape (what BackendState.inflightAtReport holds).
  const atScrape = Array.from({ length: R }, () => new Array<number>(n).fill(0));
  let reported: (BackendLoad & { observedAt: number })[] | undefined;
  const piggyback = opts.loadSignal === 'piggyback';
  const seen: (BackendLoad | undefined)[][] = Array.from({ length: R }, () => new Array<BackendLoad | undefined>(n).fill(undefined));
  // Each engine's cache fill rate, from its uncached-token counter as the scrape reads it (one scrape serves
  // every replica) or, piggy-backed, as each replica reads it from its own responses.
  const scrapedFill = Array.from({ length: n }, () => new CounterRate());
  const seenFill = Array.from({ length: R }, () => Array.from({ length: n }, () => new CounterRate()));

  const flights = new Map<string, Flight>();
  const ttft: number[] = [];
  const e2e: number[] = [];
  const perBackend = new Array<number>(n).fill(0);
  const reasons: Record<string, number> = {};
  let cachedTokens = 0;
  let promptTokens = 0;
  let rejected = 0;
  const load = new LoadIntegrator(n);

  const handle = (events: EngineEvent[]) => {
    for (const ev of events) {
      if (ev.kind === 'tokens') continue;
      const f = flights.get(ev.id)!;
      if (ev.kind === 'first_token') {
        ttft.push(ev.time - f.arrival);
        awaiting[f.replica]![f.backend]!--;
        awaitingChars[f.replica]![f.backend]! -= f.prefillChars;
        f.cachedTokens = ev.cachedTokens;
        cachedTokens += ev.cachedTokens;
        promptTokens += f.promptTokens;
        opts.onFirstToken?.({
          index: f.index,
          backend: f.backend,
          replica: f.replica,
          reason: f.reason,
          promptTokens: f.promptTokens,
          cachedTokens: ev.cachedTokens,
          believedTokens: Math.round(((f.request.promptChars - f.prefillChars) * f.promptTokens) / f.request.promptChars),
          ttftMs: ev.time - f.arrival,
        });
      } else {
        e2e.push(ev.time - f.arrival);
        inflight[f.replica]![f.backend]!--;
        // The receipt: what the engine says it served from cache, at the end of the response.
        const rt = receiptTokens[f.backend]!;
        rt.prompt += f.promptTokens;
        rt.cached += f.cachedTokens;
        if (receipts) policies[f.replica]!.onReceipt?.(inputOf(f.request, ev.time), ids[f.backend]!, { promptTokens: f.promptTokens, cachedTokens: f.cachedTokens });
        load.add(f.backend, -1, ev.time);
        flights.delete(ev.id);
      }
    }
  };

  // Requests waiting for their lookup's answer, in arrival order (every lookup takes the same time).
  const delayed: { r: (typeof trace.requests)[number]; replica: number; arrival: number }[] = [];

  const route = (r: (typeof trace.requests)[number], replica: number, arrival: number, t: number) => {
    const own = inflight[replica]!;
    const ownAwaiting = awaiting[replica]!;
    const ownChars = awaitingChars[replica]!;
    const candidates: Candidate[] = ids.map((id, i) => {
      const mine = { inflight: own[i]!, awaitingFirstByte: ownAwaiting[i]!, prefillChars: ownChars[i]! };
      return {
        id,
        weight: 1,
        maxConcurrency: 0,
        load: piggyback
          ? { ...seen[replica]![i], ...mine }
          : reported
            ? { ...reported[i]!, ...mine, inflightAtReport: atScrape[replica]![i]! }
            : mine,
      };
    });
    const sel = policies[replica]!.select(inputOf(r, t), candidates);
    // After the decision, like the platform's background sync: the request itself never waits for it.
    afterDecision(replica, t);
    const reasonKey = sel.reason.replace(/:\d+$/, '');
    reasons[reasonKey] = (reasons[reasonKey] ?? 0) + 1;
    const b = sel.index;
    const engine = engines[b]!;
    const req = { id: String(r.index), blockHashes: engineHashes(r), promptTokens: r.promptTokens, maxTokens: r.outputTokens };
    if (engine.validate(req)) {
      rejected++;
      return;
    }
    // What forward() hands BackendState.begin: the prompt less what the policy believes is cached there.
    const prefillChars = uncachedChars(inputOf(r, t), sel.matchedBlocks ?? 0);
    flights.set(req.id, { index: r.index, arrival, backend: b, replica, promptTokens: r.promptTokens, reason: sel.reason, prefillChars, cachedTokens: 0, request: r });
    own[b]!++;
    ownAwaiting[b]!++;
    ownChars[b]! += prefillChars;
    perBackend[b]!++;
    load.add(b, 1, t);
    engine.submit(req, t);
    if (piggyback) {
      const snap = engine.snapshot();
      const fill = seenFill[replica]![b]!;
      fill.observe(uncachedPromptTokens(snap), t);
      seen[replica]![b] = { inflight: 0, running: snap.running, waiting: snap.waiting, kvUsage: snap.kvUsage, observedAt: t, inflightAtReport: own[b]!, fillRate: fill.perSecond() };
    }
  };
  const inputOf = (r: (typeof trace.requests)[number], t: number) => ({
    prefixHashes: r.routerHashes,
    promptChars: r.promptChars,
    blockChars: trace.hashOptions.blockChars,
    model: trace.model,
    now: t,
  });

  const reqs = trace.requests;
  let next = 0;
  let nextScrape = 0;
  const progressEvery = Math.max(1, Math.floor(reqs.length / 100));
  for (;;) {
    const tArrival = next < reqs.length ? reqs[next]!.arrivalMs / timeScale : Infinity;
    const tDelayed = delayed.length ? delayed[0]!.arrival + rttMs : Infinity;
    let tEngine = Infinity;
    for (const e of engines) {
      const t = e.nextEventTime();
      if (t !== undefined && t < tEngine) tEngine = t;
    }
    const tScrape = next < reqs.length && !piggyback ? nextScrape : Infinity;
    const t = Math.min(tArrival, tDelayed, tEngine, tScrape, nextFlush);
    if (t === Infinity) break;

    if (tEngine <= t) {
      for (const e of engines) {
        const te = e.nextEventTime();
        if (te !== undefined && te <= t) handle(e.advanceTo(t));
      }
      continue; // re-evaluate: finishing steps may have freed work at the same instant
    }
    if (tScrape <= t) {
      reported = engines.map((e, b) => {
        const s = e.snapshot();
        scrapedFill[b]!.observe(uncachedPromptTokens(s), t);
        return { inflight: 0, running: s.running, waiting: s.waiting, kvUsage: s.kvUsage, observedAt: t, fillRate: scrapedFill[b]!.perSecond() };
      });
      for (let k = 0; k < R; k++) atScrape[k] = [...inflight[k]!];
      nextScrape = t + scrapeMs;
      continue;
    }
    if (nextFlush <= t) {
      exchangeNow(flushAt.indexOf(nextFlush), t);
      continue;
    }
    if (tDelayed <= t) {
      const d = delayed.shift()!;
      route(d.r, d.replica, d.arrival, t);
      continue;
    }

    const r = reqs[next]!;
    const replica = R === 1 ? 0 : fmix32((r.index * 0x9e3779b1) ^ seed) % R;
    // The policy may want the board's newest placements first (it exchanges at once; the answer takes rttMs).
    if (policies[replica]!.prepare?.(inputOf(r, t), n)) delayed.push({ r, replica, arrival: t });
    else route(r, replica, t, t);
    next++;
    if (opts.onProgress && next % progressEvery === 0) opts.onProgress(next, reqs.length);
  }
  opts.onProgress?.(reqs.length, reqs.length);

  const routed = perBackend.reduce((a, b) => a + b, 0);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const snaps = engines.map((e) => e.snapshot());
  return {
    requests: reqs.length,
    policy: policies[0]!.name,
    backends: n,
    replicas: R,
    capacityTokens: opts.capacityTokens,
    timeScale,
    hitRate: promptTokens ? cachedTokens / promptTokens : 0,
    ttftP50Ms: quantile(ttft, 0.5),
    ttftP90Ms: quantile(ttft, 0.9),
    ttftP99Ms: quantile(ttft, 0.99),
    ttftMeanMs: mean(ttft),
    e2eP50Ms: quantile(e2e, 0.5),
    e2eP99Ms: quantile(e2e, 0.99),
    imbalance: load.imbalance,
    instantImbalance: load.instantImbalance,
    perBackendShare: perBackend.map((c) => (routed ? c / routed : 0)),
    preemptions: snaps.reduce((a, s) => a + s.preemptions, 0),
    rejected,
    lookups,
    reasons,
    promptTokens,
    processedPromptTokens: promptTokens - cachedTokens,
    busiestShare: routed ? (Math.max(...perBackend) * n) / routed : 1,
    perBackendHitRate: receiptTokens.map((rt, b) => ({
      receipts: rt.prompt ? rt.cached / rt.prompt : 0,
      engine: snaps[b]!.prefixCacheQueries ? snaps[b]!.prefixCacheHits / snaps[b]!.prefixCacheQueries : 0,
    })),
    deferred: snaps.reduce((a, s) => a + s.deferred, 0),
  };
}
