import type { Candidate, RoutingInput, RoutingPolicy, Selection } from './policy.ts';
import { ApproxPrefixIndex } from './approx-prefix-index.ts';
import { argminLoad } from './load.ts';

export interface CacheAwareOptions {
  cacheThreshold?: number;
  balanceAbsThreshold?: number;
  balanceRelThreshold?: number;
  indexBlocksPerBackend?: number;
}

/**
 * The SGLang router's cache-aware policy (sgl-router cache_aware.rs; SMG defaults), on block hashes instead of
 * characters. Two states, decided on this instance's own in-flight counts:
 * - imbalanced (max - min > abs AND max > rel * min): the least-loaded backend;
 * - otherwise the backend with the longest approximate prefix match if it covers more than cacheThreshold of
 *   the prompt (ties: least loaded), else the least-loaded backend (SMG; the old code took the smallest tree).
 * The index learns only from this instance's decisions, so with R replicas each sees ~1/R of the traffic.
 */
export class CacheAwarePolicy implements RoutingPolicy {
  readonly name = 'cache-aware';
  private readonly cacheThreshold: number;
  private readonly balanceAbs: number;
  private readonly balanceRel: number;
  private readonly index: ApproxPrefixIndex;
  private rotate = 0;

  constructor(opts: CacheAwareOptions = {}) {
    this.cacheThreshold = opts.cacheThreshold ?? 0.3;
    this.balanceAbs = opts.balanceAbsThreshold ?? 64;
    this.balanceRel = opts.balanceRelThreshold ?? 1.5;
    // 500k tokens of KV ~ 2M characters ~ 3,900 blocks of 512 characters.
    this.index = new ApproxPrefixIndex(opts.indexBlocksPerBackend ?? 4096);
  }

  select(input: RoutingInput, candidates: readonly Candidate[]): Selection {
    const loads = candidates.map((c) => c.load.inflight / (c.weight > 0 ? c.weight : 1));
    const least = argminLoad(loads, this.rotate++);
    const hashes = input.prefixHashes;
    let max = -Infinity;
    let min = Infinity;
    for (const l of loads) {
      if (l > max) max = l;
      if (l < min) min = l;
    }
    let sel: Selection;
    if (max - min > this.balanceAbs && max > min * this.balanceRel) {
      sel = { index: least, reason: 'imbalanced' };
    } else {
      let best = -1;
      let bestMatch = 0;
      const matches = candidates.map((c) => this.index.matchedBlocks(c.id, hashes));
      for (let i = 0; i < candidates.length; i++) {
        const m = matches[i]!;
        if (m > bestMatch || (m === bestMatch && m > 0 && loads[i]! < loads[best]!)) {
          bestMatch = m;
          best = i;
        }
      }
      sel =
        hashes.length > 0 && bestMatch / hashes.length > this.cacheThreshold
          ? { index: best, reason: 'cache-hit', matchedBlocks: bestMatch }
          : { index: least, reason: 'cache-miss', matchedBlocks: matches[least]! };
    }
    this.index.insert(candidates[sel.index]!.id, hashes);
    return sel;
  }

  /** A retry sent the request elsewhere: that backend now holds the prefix too. */
  onRouted(input: RoutingInput, backendId: string): void {
    this.index.insert(backendId, input.prefixHashes);
  }
}
