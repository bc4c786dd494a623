import type { Routers } from '../../config/affinity.ts';
import { combine32, fmix32 } from '../../util/hash.ts';
import { boundedCache } from '../../util/lru.ts';
import { type CacheReceipt, DEFAULT_BLOCK_CHARS, type Candidate, type RoutingInput, type RoutingPolicy, type Selection, uncachedChars } from './policy.ts';
import { ApproxPrefixIndex } from './approx-prefix-index.ts';
import type { BoardLookup } from './board-lookup.ts';
import { argminLoad, DEFAULT_STALE_LOAD_MS, effectiveLoad, loadCap, RecentSends, SendLog } from './load.ts';
import { LoadShedding } from './load-shedding.ts';
import { OwnShare } from './own-share.ts';
import { PrefillWork, workCap } from './prefill-work.ts';
import { DEFAULT_POPULARITY_HALF_LIFE, HOT_PRIOR_THRESHOLDS, type PopularitySource, PrefixPopularity } from './prefix-popularity.ts';
import { rendezvousOrder } from './rendezvous.ts';
import { backendHash, PlacementView } from './shared-placements.ts';

export interface PrefixAffinityOptions {
  /** 'ignore': cache receipts do not correct the index (default 'use'). */
  receipts?: 'use' | 'ignore';
  /** Bounded-load factor c: a backend takes a request while its load + 1 <= ceil(c x mean). */
  loadFactor?: number;
  /** The same bound for a request that starts a new conversation (nothing of it cached anywhere yet). */
  newLoadFactor?: number;
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
  /** Where popularity is read from; default: this instance's own counts. */
  popularity?: PopularitySource;
  /** Where other instances placed each key (shared-placements.ts); default: this instance's own placements. */
  placements?: PlacementView;
  /**
   * The deployment, set by the runtime (config/affinity.ts routersSchema): 'one' router carries the pool's whole
   * traffic, or it is one of 'many'. Default: 'many' when placements are shared with other instances, else 'one'.
   */
  routers?: Routers;
  /**
   * Overrides the deployment: 'yes' / 'no' fix whether this instance routes the pool alone; 'auto' tells from the
   * engine reports (its own in-flight count against the engine's), which takes a few hundred requests.
   */
  alone?: 'auto' | 'yes' | 'no';
  /**
   * Below this load (requests) a backend keeps its conversations whatever the bound says: spreading a handful
   * of requests costs more cache than it saves queueing (SGLang's router lets loads differ by 64 first).
   */
  minLoad?: number;
  /** The shared board, for a look before placing a long prompt blind (board-lookup.ts); default: none. */
  lookup?: BoardLookup;
  /** A prompt is worth a lookup when at least this many of its characters lie beyond its hot prefix. */
  lookupMinChars?: number;
  /** ... and the instance's view of the board is at least this old (ms). */
  lookupAfterMs?: number;
  /**
   * A new conversation under a hot prefix goes to the least loaded of that prefix's home: its top
   * ceil(homeSpread x share x backends) rendezvous choices (at least 2). 0: anywhere (its own key's top two).
   */
  homeSpread?: number;
  /**
   * The bound on prefill work: a backend takes a request while its queued prefill work with the request stays
   * within prefillFactor x the pool's mean (plus one typical request); otherwise a conversation leaves it.
   */
  prefillFactor?: number;
}

/**
 * kvroute's default. Two modes, one key:
 *
 * Affinity key. Walk the request's chained block hashes from the first block and stop at the first prefix that
 * is not hot (carried by more than hotShare / N of recent requests). Hot prefixes (an agent prompt, a big
 * tenant's system prompt) are skipped, so they never pin traffic; they are cheap to hold on every backend and
 * stay cached there because they are hot. Popularity comes from a PopularitySource: on Workers one board per
 * tenant and pool in a Durable Object, synced off the hot path (shared-popularity.ts), so every isolate uses
 * the same key for the same request.
 *
 * Shared mode (many routers, each seeing a share of the traffic; nothing shared on the hot path but one bounded
 * lookup, see prepare()):
 * 1. If any instance placed this conversation (the deepest block of the prompt in the placement log, i.e. its
 *    previous turn) or this key, follow the newest placement (shared-placements.ts; synced with the board).
 * 2. Else, if this instance sent a longer match of the prompt somewhere (its own index), follow it.
 * 3. A new key: its rendezvous order, every replica ranking it the same way. With shared placements it takes the
 *    less loaded of its top two (others learn where it went), or, where the engines report how fast they fill their KV
 *    caches, the slower-filling of the two (its cache survives longest there); without, the first. Under a hot prefix
 *    it takes the least loaded (or slowest-filling) of the prefix's home instead: the prefix's top rendezvous choices,
 *    as many as homeSpread x its share of the pool's fair shares, so a prefix is cached where its traffic needs it
 *    rather than on every backend (a hot prefix shared by all requests has every backend as its home). Only on a
 *    backend under the bounded-load cap (c = 4 x mean for an existing conversation, 1.5 x for a new one; below minLoad
 *    requests a backend keeps its conversations anyway; load is the engine report plus this instance's sends since it,
 *    and a report older than staleLoadMs is ignored, load.ts); otherwise the key's next choice, so replicas reading
 *    the same stale report do not herd. Identical hot prompts (nothing specific within the hashed cap) go to the
 *    better of two random picks among the key's top backends.
 * Before step 3 for a long prompt, when this instance's view of the board is stale (it is new, or served
 * nothing for a while), prepare() has the platform fetch the board's newest placements first: one round trip, bounded, and
 * only where the prefill it may save is larger.
 *
 * Alone mode (this instance carries the pool's whole load, as a single Node router does): its index is the whole
 * history, as in an in-cluster router, and it knows every backend's prefill backlog. Follow the longest match beyond
 * the hot part (then the placement log) while it has room; place a new conversation where its time to first token
 * is least: argmin of (prefill work queued there, prefill-work.ts) + (this prompt's characters not cached there),
 * among backends within the new-conversation bounds (requests in flight, and each backend's share of the last
 * minute's requests: conversations idle between turns will be back). Ties: longer match, lower load. A prompt that is
 * all hot prefix (an agent's first step under its tenant's tools) has no conversation to follow and is placed the same
 * way, not within the prefix's home: a burst of a tenant's new sessions would queue on its home's few backends.
 * Which mode is the deployment's (`routers`, stated by the runtime; `alone` overrides it), so it is right from the
 * first request whatever the engines report.
 *
 * Both modes bound prefill work (prompt characters queued per backend, prefill-work.ts): a backend over
 * prefillFactor x the mean (plus one typical request) keeps a conversation only if its prefill would still end
 * there no later than anywhere else, so a backend holding hot conversations is not queued into the tail.
 * Engine receipts (onReceipt) correct the index: a request that found less cached than believed shows what the
 * engine evicted (approx-prefix-index.ts).
 */
export class PrefixAffinityPolicy implements RoutingPolicy {
  readonly name = 'prefix-affinity';
  private readonly loadFactor: number;
  private readonly newLoadFactor: number;
  private readonly hotShare: number;
  private readonly staleLoadMs: number;
  private readonly popularity: PopularitySource;
  private readonly sends: SendLog;
  /** Alone mode: requests sent to each backend over the last minute or so (each backend's traffic share). */
  private readonly recent: RecentSends;
  private readonly shedding: LoadShedding | undefined;
  private readonly index: ApproxPrefixIndex | undefined;
  private readonly work = new PrefillWork();
  private readonly prefillFactor: number;
  /** Decisions awaiting their receipt: what the index believed the chosen backend held (onReceipt). */
  private readonly believed = boundedCache<number, Belief>({ max: MAX_BELIEFS, grow: true });
  private readonly aloneSetting: 'auto' | 'yes' | 'no';
  private readonly useReceipts: boolean;
  private readonly ownShare = new OwnShare();
  private readonly placements: PlacementView;
  /** Whether placements are shared with other instances (then a new key may leave its first hash choice). */
  private readonly placementsShared: boolean;
  private readonly minLoad: number;
  private readonly lookup: BoardLookup | undefined;
  private readonly lookupMinChars: number;
  private readonly lookupAfterMs: number;
  private readonly homeSpread: number;
  private rotate = 0;
  private random = 0x6d2b79f5;
  private hotThreshold = 0;

  constructor(opts: PrefixAffinityOptions = {}) {
    this.loadFactor = opts.loadFactor ?? 4;
    this.newLoadFactor = Math.min(this.loadFactor, opts.newLoadFactor ?? 1.5);
    this.hotShare = opts.hotShare ?? 0.125;
    this.staleLoadMs = opts.staleLoadMs ?? DEFAULT_STALE_LOAD_MS;
    this.popularity = opts.popularity ?? new PrefixPopularity(opts.popularityHalfLife ?? DEFAULT_POPULARITY_HALF_LIFE);
    this.sends = new SendLog(this.staleLoadMs);
    this.recent = new RecentSends(RECENT_SENDS_MS);
    const trendMs = opts.trendMs ?? 0;
    this.shedding = trendMs > 0 ? new LoadShedding(opts.trendFactor ?? 1.3, trendMs) : undefined;
    const indexBlocks = opts.indexBlocksPerBackend ?? 4096;
    this.index = indexBlocks > 0 ? new ApproxPrefixIndex(indexBlocks) : undefined;
    this.placements = opts.placements ?? new PlacementView(undefined, false);
    this.placementsShared = opts.placements !== undefined;
    // The deployment decides, whatever the engines report (or fail to): one router alone, many never.
    const routers = opts.routers ?? (this.placementsShared ? 'many' : 'one');
    this.aloneSetting = opts.alone ?? (routers === 'one' ? 'yes' : 'no');
    this.prefillFactor = opts.prefillFactor ?? 2;
    this.minLoad = opts.minLoad ?? 8;
    this.lookup = opts.lookup;
    this.lookupMinChars = opts.lookupMinChars ?? 4096;
    this.lookupAfterMs = opts.lookupAfterMs ?? 1000;
    this.homeSpread = opts.homeSpread ?? 12;
    this.useReceipts = opts.receipts !== 'ignore';
  }

  /**
   * Asks the board first when this request would start a "new" conversation on a stale view: shared mode, a
   * view older than lookupAfterMs, no placement known for any block past the hot prefix, and enough prompt
   * past it (lookupMinChars) that finding its cache elsewhere would save more than the round trip costs. The
   * board knows every instance's placements as of their last sync, so a conversation whose previous turn
   * another isolate placed is followed instead of restarted.
   */
  prepare(input: RoutingInput, poolSize: number): Promise<void> | undefined {
    const lookup = this.lookup;
    const hashes = input.prefixHashes;
    if (!lookup || hashes.length === 0 || poolSize < 2 || this.isAlone()) return undefined;
    if (lookup.ageMs(input.now) < this.lookupAfterMs) return undefined;
    // From the pool's size, as select() sets it: on an instance's very first request select() has not run yet,
    // and a fresh isolate, which knows nothing of what others placed, is the one that most needs to ask.
    this.hotThreshold = this.hotShare / poolSize;
    const depth = this.keyDepth(hashes);
    if (input.promptChars - depth * (input.blockChars ?? DEFAULT_BLOCK_CHARS) < this.lookupMinChars) return undefined;
    if (this.popularity.share(hashes[depth]!, this.prior()) > this.hotThreshold) return undefined; // spread anyway
    for (let d = hashes.length - 1; d >= depth; d--) if (this.placements.get(hashes[d]!) !== undefined) return undefined;
    // Ask about the blocks placedOn() would follow: the board may know them from before its log's horizon.
    const ask = new Int32Array(hashes.length - depth);
    for (let i = 0; i < ask.length; i++) ask[i] = hashes[depth + i]!;
    return lookup.refresh(input.now, ask);
  }

  /** Shares are shrunk by a prior of two thresholds' worth of pseudo-requests that lack the prefix, so a prefix
   * must be seen a few times before it counts as hot, whatever this replica's traffic share. */
  private prior(): number {
    return HOT_PRIOR_THRESHOLDS / this.hotThreshold;
  }

  /** Depth of the affinity key: the first block of the prompt that is not hot (or its last block). */
  private keyDepth(hashes: ArrayLike<number>): number {
    const prior = this.prior();
    let depth = 0;
    while (depth < hashes.length - 1 && this.popularity.share(hashes[depth]!, prior) > this.hotThreshold) depth++;
    return depth;
  }

  select(input: RoutingInput, candidates: readonly Candidate[]): Selection {
    const n = candidates.length;
    const loads = candidates.map((c) => effectiveLoad(c, input.now, this.staleLoadMs, this.sends));
    const hashes = input.prefixHashes;
    this.shedding?.update(candidates, input.now);
    if (this.aloneSetting === 'auto') this.ownShare.observe(candidates, input.now, this.staleLoadMs);
    this.hotThreshold = this.hotShare / n;
    let sel: Selection;
    if (hashes.length === 0) {
      sel = { index: argminLoad(loads, this.rotate++), reason: 'no-prefix' };
    } else {
      const depth = this.keyDepth(hashes);
      const keyShare = this.popularity.share(hashes[depth]!, this.prior());
      this.popularity.record(hashes);
      const matched = this.index ? candidates.map((c) => this.index!.matchedBlocks(c.id, hashes)) : undefined;
      const view = this.viewOf(input, matched, loads, candidates);
      // A prompt that is all hot prefix (nothing specific left, e.g. an agent's first step under its tools) has no
      // conversation to follow: a lone router places it where its first token comes soonest (following the cache
      // would pile such prompts on the backend that served them first; the prefix's home may be the busy part of
      // the pool); many routers spread it as in shared mode.
      sel = this.isAlone() && matched
        ? this.placeAlone(input, depth, matched, view, candidates, keyShare > this.hotThreshold)
        : this.placeShared(hashes, depth, keyShare, matched, view, candidates);
      const chosen = candidates[sel.index]!.id;
      if (matched) this.believe(hashes, chosen, matched[sel.index]!);
      this.index?.insert(chosen, hashes);
      if (keyShare <= this.hotThreshold) {
        // The key, and the prompt's last block: a next turn extends this prompt, so it finds its conversation
        // by that block even if its key has moved (a prefix that turned hot or cold in between).
        this.placements.record(hashes[depth]!, chosen);
        if (hashes.length - 1 > depth) this.placements.record(hashes[hashes.length - 1]!, chosen);
      }
    }
    this.sends.record(candidates[sel.index]!.id, input.now);
    if (this.isAlone()) this.recent.record(candidates[sel.index]!.id, input.now); // read only when alone
    this.work.observe(uncachedChars(input, sel.matchedBlocks ?? 0));
    return sel;
  }

  /**
   * The engine's receipt for a request this instance placed: if it served well under what the index believed
   * that backend held (more than a block short; blocks of the prompt's own characters per token, no tokenizer),
   * the engine had evicted the missing blocks, and with them everything the index touched there before: those
   * entries go and the backend's capacity in the index shrinks to what it was found to keep. A receipt that
   * confirms the belief lets that capacity grow back.
   */
  onReceipt(input: RoutingInput, backendId: string, receipt: CacheReceipt): void {
    const hashes = input.prefixHashes;
    if (!this.index || !this.useReceipts || hashes.length === 0) return;
    const key = combine32(hashes[hashes.length - 1]!, backendHash(backendId));
    const belief = this.believed.peek(key);
    if (!belief || belief.backend !== backendId) return;
    this.believed.delete(key);
    if (!(receipt.promptTokens > 0)) return;
    const blockChars = input.blockChars ?? DEFAULT_BLOCK_CHARS;
    const cachedBlocks = Math.floor((receipt.cachedTokens * input.promptChars) / receipt.promptTokens / blockChars);
    const believed = belief.stamps.length;
    if (cachedBlocks >= believed - 1) this.index.confirmed(backendId);
    else this.index.forgetOlderThan(backendId, belief.stamps[cachedBlocks]!, belief.clock);
  }

  /** Remembers, until its receipt, what the index believed `backendId` held of this prompt (onReceipt). */
  private believe(hashes: ArrayLike<number>, backendId: string, matched: number): void {
    if (matched === 0 || !this.useReceipts) return; // nothing believed, or nothing to correct it with
    this.believed.set(combine32(hashes[hashes.length - 1]!, backendHash(backendId)), {
      backend: backendId,
      stamps: this.index!.stamps(backendId, hashes, matched),
      clock: this.index!.clock(backendId),
    });
  }

  /** Whether this instance routes the pool alone (see the class comment). */
  isAlone(): boolean {
    return this.aloneSetting === 'auto' ? this.ownShare.alone : this.aloneSetting === 'yes';
  }

  /** Load, prefill work and the bounds on both, for one decision. */
  private viewOf(input: RoutingInput, matched: number[] | undefined, loads: number[], candidates: readonly Candidate[]): View {
    const work = candidates.map((c) => this.work.of(c, input.now, this.staleLoadMs, this.sends));
    const uncached = candidates.map((_, i) => uncachedChars(input, matched?.[i] ?? 0));
    const workFits = workCap(work, candidates, this.prefillFactor, this.work.typical);
    // Over the bound, a backend still keeps a conversation whose prefill would start and end there no later than
    // anywhere else (its queued work + the uncached part, against the full prefill elsewhere).
    let first = Infinity;
    let second = Infinity;
    for (let i = 0; i < work.length; i++) {
      const c = work[i]! + uncached[i]!;
      if (c < first) [first, second] = [c, first];
      else if (c < second) second = c;
    }
    const keeps = (i: number) => {
      if (workFits(i)) return true;
      const c = work[i]! + uncached[i]!;
      return c <= (c === first ? second : first);
    };
    const bounded = loadCap(loads, candidates, this.loadFactor);
    const boundedNew = loadCap(loads, candidates, this.newLoadFactor);
    // Below minLoad requests a backend keeps its conversations whatever the request bound (shared mode: at a few
    // requests per backend the bound's ceiling is 1 or 2, and spreading them costs more cache than it saves); a
    // lone router knows the exact backlog and keeps the plain bound. The prefill-work bound holds either way.
    const alone = this.isAlone();
    const requestsFit = alone ? bounded : (i: number) => loads[i]! + 1 <= this.minLoad || bounded(i);
    // A lone router sees each backend's whole traffic: a new conversation also stays off a backend whose share of
    // the recent requests is above the new-conversation bound (its conversations, idle between turns, are not in
    // flight but will be back).
    const recentFits = alone ? loadCap(candidates.map((c) => this.recent.of(c.id, input.now)), candidates, this.newLoadFactor) : () => true;
    return {
      loads,
      work,
      uncached,
      fits: (i) => requestsFit(i) && keeps(i),
      fitsNew: (i) => boundedNew(i) && workFits(i) && recentFits(i),
    };
  }

  /** `hot`: the prompt is all hot prefix, no conversation of its own to follow. */
  private placeAlone(input: RoutingInput, depth: number, matched: number[], view: View, candidates: readonly Candidate[], hot: boolean): Selection {
    const n = candidates.length;
    const { loads, work, uncached, fits, fitsNew } = view;
    let best = -1;
    if (!hot) {
      for (let i = 0; i < n; i++) {
        if (matched[i]! > depth && fits(i) && (best < 0 || matched[i]! > matched[best]! || (matched[i] === matched[best] && loads[i]! < loads[best]!))) best = i;
      }
      if (best >= 0) return { index: best, reason: 'indexed', matchedBlocks: matched[best]! };
      // The index is sized like a KV cache of 500k tokens; the placement log remembers conversations longer.
      const placed = this.placedOn(input.prefixHashes, depth, candidates, fits);
      if (placed >= 0) return { index: placed, reason: 'placed', matchedBlocks: matched[placed]! };
    }
    // A new conversation, or one whose backend is over a bound: where its prefill would end soonest (queued prefill
    // work + its own uncached part), among backends within the new-conversation bounds (else among all).
    let bestCost = Infinity;
    let reason = 'least-prefill';
    const offset = this.rotate++;
    for (let pass = 0; pass < 2 && best < 0; pass++) {
      reason = pass === 0 ? 'least-prefill' : 'all-full';
      for (let k = 0; k < n; k++) {
        const i = (k + offset) % n;
        if (pass === 0 && !fitsNew(i)) continue;
        const cost = work[i]! + uncached[i]!;
        if (best < 0 || cost < bestCost || (cost === bestCost && (matched[i]! > matched[best]! || (matched[i] === matched[best] && loads[i]! < loads[best]!)))) {
          best = i;
          bestCost = cost;
        }
      }
    }
    return { index: best, reason, matchedBlocks: matched[best]! };
  }

  private placeShared(
    hashes: ArrayLike<number>,
    depth: number,
    keyShare: number,
    matched: number[] | undefined,
    view: View,
    candidates: readonly Candidate[],
  ): Selection {
    const n = candidates.length;
    const key = hashes[depth]!;
    const { loads, fitsNew } = view;
    const shedding = this.shedding;
    const fits = shedding ? (i: number) => view.fits(i) && !shedding.sheds(key, candidates[i]!) : view.fits;
    // Some instance placed this conversation or key: follow the newest placement while it has room. It comes
    // before this instance's own index, which knows only its own (possibly older) decisions: another isolate
    // may have moved the conversation since. (A prompt that is hot as a whole has no part of its own.)
    const hot = keyShare > this.hotThreshold;
    const at = (i: number, reason: string): Selection => ({ index: i, reason, matchedBlocks: matched?.[i] });
    if (!hot) {
      const placed = this.placedOn(hashes, depth, candidates, fits);
      if (placed >= 0) return at(placed, 'placed');
    }
    // This instance sent a longer match of the prompt somewhere, beyond its hot part (a prefix the log does not
    // name, e.g. a shared document under another key): follow it while it has room.
    if (matched && !hot) {
      let best = -1;
      let bestMatch = depth;
      for (let i = 0; i < n; i++) {
        const m = matched[i]!;
        if (m > bestMatch || (m === bestMatch && best >= 0 && loads[i]! < loads[best]!)) {
          bestMatch = m;
          best = i;
        }
      }
      if (best >= 0 && fits(best)) return { index: best, reason: 'indexed', matchedBlocks: bestMatch };
    }
    const order = rendezvousOrder(key, candidates);
    if (!hot && this.placementsShared) {
      // A new key, and other instances will learn where it went: the less loaded of its top two if it is
      // within the new-conversation bound, which balances the cache each backend must hold better than the
      // hash alone. (Preferring the one where the own index shows more of the prompt measured +0.3 points on
      // Mooncake at 16-64 replicas but raised imbalance on the generated workload: not adopted.) Under a hot
      // prefix, the least loaded of the prefix's home (ties in the key's order): a prefix held by 2 of 8
      // backends stays cached there, where spread over all 8 it was evicted from the quieter ones.
      // Where the engines report how fast they fill their caches, the slowest-filling of these within the
      // bound instead: the conversation's cache lives longest there (upstream/fill-rate.ts).
      const home = depth > 0 ? this.homeOf(hashes[depth - 1]!, order, candidates) : undefined;
      const choices = home ?? order;
      const count = home ? home.length : 2;
      const pick = slowestFilling(choices, count, loads, candidates, fitsNew) ?? leastLoaded(choices, loads, count);
      if (fitsNew(pick)) return at(pick, 'new');
    }
    // Backends a hot key may use: enough fair shares to carry it.
    const spread = hot ? Math.min(n, Math.max(2, Math.ceil(keyShare * n))) : 1;
    if (spread === 1) {
      if (fits(order[0]!)) return at(order[0]!, `affinity:${depth}`);
    } else {
      // Two random choices among the key's top `spread`, the less loaded one: every replica reads the same
      // stale report, so "the least loaded of all" would send every replica's hot requests to one backend.
      const a = order[this.nextRandom() % spread]!;
      const b = order[this.nextRandom() % spread]!;
      const pick = loads[b]! < loads[a]! ? b : a;
      if (fits(pick)) return at(pick, `hot:${spread}`);
      const other = pick === a ? b : a;
      if (fits(other)) return at(other, `hot:${spread}`);
    }
    for (let r = 1; r < n; r++) {
      if (fits(order[r]!)) return at(order[r]!, `spill:${r}`);
    }
    return at(argminLoad(loads, this.rotate++), 'all-full');
  }

  /**
   * The candidate holding the deepest placed block of the prompt (its conversation's previous turn, else its
   * key), or -1 when none is known or that backend has no room.
   */
  private placedOn(hashes: ArrayLike<number>, depth: number, candidates: readonly Candidate[], fits: (i: number) => boolean): number {
    for (let d = hashes.length - 1; d >= depth; d--) {
      const placed = this.placements.get(hashes[d]!);
      if (placed === undefined) continue;
      for (let i = 0; i < candidates.length; i++) if (backendHash(candidates[i]!.id) === placed) return fits(i) ? i : -1;
      return -1;
    }
    return -1;
  }

  /**
   * The backends (in `order`) that are home to a hot prefix: its top ceil(homeSpread x share x n) rendezvous
   * choices, at least 2; undefined when that is every backend or homes are off.
   */
  private homeOf(prefix: number, order: readonly number[], candidates: readonly Candidate[]): number[] | undefined {
    if (this.homeSpread <= 0) return undefined;
    const n = candidates.length;
    const k = Math.max(2, Math.ceil(this.homeSpread * this.popularity.share(prefix, this.prior()) * n));
    if (k >= n) return undefined;
    const home = rendezvousOrder(prefix, candidates).slice(0, k); // k < n <= a pool's few backends
    return order.filter((i) => home.includes(i));
  }

  private nextRandom(): number {
    this.random = fmix32((this.random + 0x9e3779b9) >>> 0);
    return this.random;
  }
}

/** What one decision knows of the candidates (PrefixAffinityPolicy.viewOf). */
interface View {
  /** Load in requests (engine report corrected by own sends, at least own in-flight; load.ts). */
  loads: number[];
  /** Queued prefill work in prompt characters (prefill-work.ts). */
  work: number[];
  /** Characters of this prompt each backend would have to prefill (what the index believes it lacks). */
  uncached: number[];
  /** Whether a backend may take one more request of a conversation it holds (request and prefill bounds). */
  fits: (i: number) => boolean;
  /** Whether a backend may take a new conversation (the stricter request bound and the prefill bound). */
  fitsNew: (i: number) => boolean;
}

/** What the index believed a chosen backend held of a prompt, until the engine's receipt says (onReceipt). */
interface Belief {
  backend: string;
  /** Stamps of the believed blocks' last touches before this request (ApproxPrefixIndex.stamps). */
  stamps: Float64Array;
  /** The index's clock for that backend then. */
  clock: number;
}

/** Time constant of the recent-traffic count (alone mode): about a minute, several turns of a conversation. */
const RECENT_SENDS_MS = 60_000;

/** Decisions remembered for their receipts (the oldest are dropped: receipts come back within seconds). */
const MAX_BELIEFS = 4096;

/** The least loaded of the first `count` of `indices`, the earliest of them on a tie. */
function leastLoaded(indices: readonly number[], loads: readonly number[], count = indices.length): number {
  let best = indices[0]!;
  for (let k = 1; k < Math.min(count, indices.length); k++) if (loads[indices[k]!]! < loads[best]!) best = indices[k]!;
  return best;
}

/**
 * Of the first `count` of `indices`, the one within `fits` whose engine fills its KV cache slowest (ties: less
 * loaded, then earlier); undefined when one of them has no fill rate reported, or none fits.
 */
function slowestFilling(
  indices: readonly number[],
  count: number,
  loads: readonly number[],
  candidates: readonly Candidate[],
  fits: (i: number) => boolean,
): number | undefined {
  let best = -1;
  for (let k = 0; k < Math.min(count, indices.length); k++) {
    const i = indices[k]!;
    const rate = candidates[i]!.load.fillRate;
    if (rate === undefined) return undefined;
    if (!fits(i)) continue;
    const bestRate = best < 0 ? Infinity : candidates[best]!.load.fillRate!;
    if (rate < bestRate || (rate === bestRate && loads[i]! < loads[best]!)) best = i;
  }
  return best < 0 ? undefined : best;
}
