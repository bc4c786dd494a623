import { fmix32 } from '../../util/hash.ts';
import type { Candidate, RoutingInput, RoutingPolicy, Selection } from '../policy.ts';
import { ApproxPrefixIndex } from './approx-prefix-index.ts';
import { argminLoad, DEFAULT_STALE_LOAD_MS, effectiveLoad, loadCap, SendLog } from './load.ts';
import { LoadShedding } from './load-shedding.ts';
import { PrefixPopularity } from './prefix-popularity.ts';
import { rendezvousOrder } from './rendezvous.ts';

export interface PrefixAffinityOptions {
  /** Bounded-load factor c: a backend takes a request while its load + 1 <= ceil(c x mean). */
  loadFactor?: number;
  /** A prefix is hot when it is carried by more than hotShare / backends of recent requests. */
  hotShare?: number;
  /** Half-life of popularity counts, in requests seen by this instance. */
  popularityHalfLife?: number;
  staleLoadMs?: number;
  /** Time constant of the engine-load trend and of the shedding controller (ms); 0 turns shedding off. */
  trendMs?: number;
  /** Shedding target: a backend's load trend should stay <= trendFactor x the mean trend. */
  trendFactor?: number;
  /** Capacity of this instance's own index of what it sent where, per backend in blocks (0 = no index). */
  indexBlocksPerBackend?: number;
}

/**
 * kvroute's default: popularity-aware rendezvous hashing with load shedding. Needs no shared state: every
 * replica computes the same ranking for the same prefix; what a replica keeps for itself (prefix popularity,
 * a load trend, an index of its own decisions) is either estimated as well from a 1/R sample or only a hint.
 *
 * 1. Affinity key: walk the request's chained block hashes from the first block and stop at the first prefix
 *    that is not hot. Hot prefixes (a system prompt shared by a whole tenant or by everyone) are skipped, so
 *    they never pin traffic; the key is the shallowest prefix specific enough for one backend, so everything
 *    that shares it (a conversation's turns, the users of one document) lands together. A hot prefix is cheap
 *    to hold on every backend and stays cached there because it is hot. Identical hot prompts (nothing
 *    specific left within the hashed cap) go to the better of two random picks among the key's top backends.
 * 2. If this instance itself sent a longer match of the prompt somewhere, follow it (with one router, this is
 *    the SGLang tree's knowledge; with many, a hint that is right more often than not).
 * 3. Otherwise the key's rendezvous order: the first backend that (a) is under a loose bounded-load cap on
 *    current load (bursts) and (b) does not shed this key. Shedding is a slow controller on each backend's load
 *    trend that moves a fixed subset of a persistently overloaded backend's keys to their next choice
 *    (load-shedding.ts). Load is the engine report plus this instance's sends since it; a report older than
 *    staleLoadMs is ignored (load.ts). Overflow follows each key's own order, so a stale view cannot herd.
 */
export class PrefixAffinityPolicy implements RoutingPolicy {
  readonly name = 'prefix-affinity';
  private readonly loadFactor: number;
  private readonly hotShare: number;
  private readonly staleLoadMs: number;
  private readonly popularity: PrefixPopularity;
  private readonly sends: SendLog;
  private readonly shedding: LoadShedding | undefined;
  private readonly index: ApproxPrefixIndex | undefined;
  private rotate = 0;
  private random = 0x6d2b79f5;
  private hotThreshold = 0;

  constructor(opts: PrefixAffinityOptions = {}) {
    this.loadFactor = opts.loadFactor ?? 3;
    this.hotShare = opts.hotShare ?? 0.5;
    this.staleLoadMs = opts.staleLoadMs ?? DEFAULT_STALE_LOAD_MS;
    this.popularity = new PrefixPopularity(opts.popularityHalfLife ?? 1024);
    this.sends = new SendLog(this.staleLoadMs);
    const trendMs = opts.trendMs ?? 120_000;
    this.shedding = trendMs > 0 ? new LoadShedding(opts.trendFactor ?? 1.3, trendMs) : undefined;
    const indexBlocks = opts.indexBlocksPerBackend ?? 4096;
    this.index = indexBlocks > 0 ? new ApproxPrefixIndex(indexBlocks) : undefined;
  }

  select(input: RoutingInput, candidates: readonly Candidate[]): Selection {
    const n = candidates.length;
    const loads = candidates.map((c) => effectiveLoad(c, input.now, this.staleLoadMs, this.sends));
    const hashes = input.prefixHashes;
    this.shedding?.update(candidates, input.now);
    let sel: Selection;
    if (hashes.length === 0) {
      sel = { index: argminLoad(loads, this.rotate++), reason: 'no-prefix' };
    } else {
      this.hotThreshold = this.hotShare / n;
      // Shares are shrunk by a prior of two thresholds' worth of pseudo-requests that lack the prefix, so a
      // prefix must be seen a few times before it counts as hot, whatever this replica's traffic share.
      const prior = 2 / this.hotThreshold;
      let depth = 0;
      while (depth < hashes.length - 1 && this.popularity.share(hashes[depth]!, prior) > this.hotThreshold) depth++;
      const keyShare = this.popularity.share(hashes[depth]!, prior);
      this.popularity.record(hashes, depth);
      sel = this.place(hashes, depth, keyShare, loads, candidates);
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
  ): Selection {
    const n = candidates.length;
    const key = hashes[depth]!;
    const burst = loadCap(loads, candidates, this.loadFactor);
    const shedding = this.shedding;
    const fits = shedding ? (i: number) => burst(i) && !shedding.sheds(key, candidates[i]!) : burst;
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
    const order = rendezvousOrder(key, candidates);
    // Backends a hot key may use: enough fair shares to carry it.
    const spread = keyShare > this.hotThreshold ? Math.min(n, Math.max(2, Math.ceil(keyShare * n))) : 1;
    if (spread === 1) {
      if (fits(order[0]!)) return { index: order[0]!, reason: `affinity:${depth}` };
    } else {
      // Two random choices among the key's top `spread`, the less loaded one: every replica reads the same
      // stale report, so "the least loaded of all" would send every replica's hot requests to one backend.
      const a = order[this.nextRandom() % spread]!;
      const b = order[this.nextRandom() % spread]!;
      const pick = loads[b]! < loads[a]! ? b : a;
      if (fits(pick)) return { index: pick, reason: `hot:${spread}` };
      const other = pick === a ? b : a;
      if (fits(other)) return { index: other, reason: `hot:${spread}` };
    }
    for (let r = 1; r < n; r++) {
      if (fits(order[r]!)) return { index: order[r]!, reason: `spill:${r}` };
    }
    return { index: argminLoad(loads, this.rotate++), reason: 'all-full' };
  }

  private nextRandom(): number {
    this.random = fmix32((this.random + 0x9e3779b9) >>> 0);
    return this.random;
  }
}
