import type { Candidate, RoutingInput, RoutingPolicy, Selection } from '../policy.ts';
import { ApproxPrefixIndex } from './approx-prefix-index.ts';
import { argminLoad, DEFAULT_STALE_LOAD_MS, effectiveLoad, loadCap, SendLog } from './load.ts';
import { LoadTrend } from './load-trend.ts';
import { PrefixPopularity } from './prefix-popularity.ts';
import { rendezvousOrder } from './rendezvous.ts';

/** Rendezvous weights follow the load trend in steps of this length. */
const EPOCH_MS = 60_000;

export interface PrefixAffinityOptions {
  /** Bounded-load factor c: a backend takes a request while its load + 1 <= ceil(c x mean). */
  loadFactor?: number;
  /** A prefix is hot when it is carried by more than hotShare / backends of recent requests. */
  hotShare?: number;
  /** Half-life of popularity counts, in requests seen by this instance. */
  popularityHalfLife?: number;
  staleLoadMs?: number;
  /** Time constant of the load trend that adapts rendezvous weights (ms); 0 turns adaptation off. */
  trendMs?: number;
  /** Capacity of this instance's own index of what it sent where, per backend in blocks (0 = no index). */
  indexBlocksPerBackend?: number;
}

/**
 * kvroute's default: popularity-aware rendezvous hashing with bounded loads. Stateless across router replicas:
 * every replica computes the same ranking for the same prefix.
 *
 * 1. Affinity key: walk the request's chained block hashes from the first block and stop at the first prefix
 *    that is not hot. Hot prefixes (a system prompt shared by a whole tenant or by everyone) are skipped, so
 *    they never pin traffic; the key is the shallowest prefix that is specific enough to fit one backend, so
 *    everything that shares it (a conversation's turns, users of one document) lands together. A hot prefix is
 *    cheap to hold on every backend and stays cached there because it is hot.
 * 2. Rank backends by rendezvous score on the key. A request whose whole hashed prefix is still hot (identical
 *    prompts) is spread over as many top-ranked backends as its share needs, least loaded first.
 * 3. Bounded load: take the first backend in rank order under ceil(loadFactor x mean load); overflow goes to
 *    the key's own next choices, which differ from key to key, so a stale load view cannot herd every router
 *    onto the one backend that looked idle. Load is the engine report corrected by this instance's sends since
 *    the report (see load.ts); a report older than staleLoadMs falls back to the own in-flight count.
 */
export class PrefixAffinityPolicy implements RoutingPolicy {
  readonly name = 'prefix-affinity';
  private readonly loadFactor: number;
  private readonly hotShare: number;
  private readonly staleLoadMs: number;
  private readonly popularity: PrefixPopularity;
  private readonly sends: SendLog;
  private readonly trend: LoadTrend | undefined;
  private readonly index: ApproxPrefixIndex | undefined;
  private epoch = -1;
  private multipliers: number[] = [];
  private rotate = 0;
  private hotThreshold = 0;

  constructor(opts: PrefixAffinityOptions = {}) {
    this.loadFactor = opts.loadFactor ?? 1.5;
    this.hotShare = opts.hotShare ?? 0.5;
    this.staleLoadMs = opts.staleLoadMs ?? DEFAULT_STALE_LOAD_MS;
    // The prior (pseudo-requests without the prefix) is two hot-thresholds' worth of samples for 8 backends:
    // a prefix must be seen a few times before it counts as hot, whatever the replica's traffic share.
    this.popularity = new PrefixPopularity(opts.popularityHalfLife ?? 512, (2 * 8) / this.hotShare);
    this.sends = new SendLog(this.staleLoadMs);
    const trendMs = opts.trendMs ?? 120_000;
    this.trend = trendMs > 0 ? new LoadTrend(trendMs) : undefined;
    const indexBlocks = opts.indexBlocksPerBackend ?? 4096;
    this.index = indexBlocks > 0 ? new ApproxPrefixIndex(indexBlocks) : undefined;
  }

  select(input: RoutingInput, candidates: readonly Candidate[]): Selection {
    const n = candidates.length;
    const loads = candidates.map((c) => effectiveLoad(c, input.now, this.staleLoadMs, this.sends));
    const hashes = input.prefixHashes;
    let sel: Selection;
    if (hashes.length === 0) {
      sel = { index: argminLoad(loads, this.rotate++), reason: 'no-prefix' };
    } else {
      this.hotThreshold = this.hotShare / n;
      let depth = 0;
      while (depth < hashes.length - 1 && this.popularity.share(hashes[depth]!) > this.hotThreshold) depth++;
      const keyShare = this.popularity.share(hashes[depth]!);
      this.popularity.record(hashes, depth);
      sel = this.place(hashes, depth, keyShare, loads, candidates, input.now);
      this.index?.insert(candidates[sel.index]!.id, hashes);
    }
    this.sends.record(candidates[sel.index]!.id, input.now);
    return sel;
  }

  private place(
    hashes: ArrayLike<number>,
    depth: number,
    keyShare: number,
    loads: number[],
    candidates: readonly Candidate[],
    now: number,
  ): Selection {
    const n = candidates.length;
    const fits = loadCap(loads, candidates, this.loadFactor);
    // This instance sent this prefix somewhere before, beyond its hot part: follow it while it has room. With
    // one router this is all the history; with R replicas it is ~1/R of it, and the rendezvous rank is the
    // agreement that remains.
    if (this.index) {
      let best = -1;
      let bestMatch = depth;
      for (let i = 0; i < n; i++) {
        const m = this.index.matchedBlocks(candidates[i]!.id, hashes);
        if (m > bestMatch || (m === bestMatch && best >= 0 && loads[i]! < loads[best]!)) {
          bestMatch = m;
          best = i;
        }
      }
      if (best >= 0 && fits(best)) return { index: best, reason: 'indexed', matchedBlocks: bestMatch };
    }
    const order = rendezvousOrder(hashes[depth]!, this.weighted(candidates, now));
    // Backends a hot key may use: enough fair shares to carry it.
    const spread = keyShare > this.hotThreshold ? Math.min(n, Math.max(2, Math.ceil(keyShare * n))) : 1;
    let best = -1;
    for (let r = 0; r < spread; r++) {
      const i = order[r]!;
      if (fits(i) && (best < 0 || loads[i]! < loads[best]!)) best = i;
    }
    if (best >= 0) return { index: best, reason: spread > 1 ? `hot:${spread}` : `affinity:${depth}` };
    for (let r = spread; r < n; r++) {
      if (fits(order[r]!)) return { index: order[r]!, reason: `spill:${r}` };
    }
    return { index: argminLoad(loads, this.rotate++), reason: 'all-full' };
  }

  /**
   * Candidates with rendezvous weights scaled by the load trend. The multipliers change only at epoch
   * boundaries of the trend's time scale (aligned on the clock, so replicas switch together): a key moves at
   * most once per epoch instead of flapping with every report.
   */
  private weighted(candidates: readonly Candidate[], now: number): readonly Candidate[] {
    if (!this.trend) return candidates;
    this.trend.observe(candidates);
    const epoch = Math.floor(now / EPOCH_MS);
    if (epoch !== this.epoch || this.multipliers.length !== candidates.length) {
      this.epoch = epoch;
      this.multipliers = this.trend.multipliers(candidates);
    }
    const m = this.multipliers;
    return candidates.map((c, i) => ({ ...c, weight: (c.weight > 0 ? c.weight : 1) * m[i]! }));
  }
}
