import { combine32, idHasher, unitFloat } from '../../util/hash.ts';
import type { Candidate, RoutingInput, RoutingPolicy, Selection } from './policy.ts';
import { DEFAULT_STALE_LOAD_MS, effectiveLoad, loadCap, SendLog } from './load.ts';

const idHash = idHasher(0x68727721);

/**
 * Highest-random-weight score of `key` on a backend: -w / ln(u), u uniform from hash(key, id). The top score
 * is a weighted-fair, coordination-free choice; removing a backend moves only the keys it held.
 */
export function rendezvousScore(key: number, c: Candidate): number {
  const u = unitFloat(combine32(key, idHash(c.id))) + 1 / 8589934592; // in (0, 1): never ln(0)
  return -(c.weight > 0 ? c.weight : 1) / Math.log(u);
}

/** Candidate indices ranked by rendezvous score for `key`, best first. */
export function rendezvousOrder(key: number, candidates: readonly Candidate[]): number[] {
  const scores = candidates.map((c) => rendezvousScore(key, c));
  return candidates.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/** The routing key of hash policies: the hash of the first `keyBlocks` blocks (all of them if fewer). */
export function keyOf(input: RoutingInput, keyBlocks: number): number | undefined {
  const n = input.prefixHashes.length;
  return n === 0 ? undefined : input.prefixHashes[Math.min(keyBlocks, n) - 1]!;
}

export interface RendezvousOptions {
  keyBlocks?: number;
  /** When set, the first backend in rank order whose load is under the bounded-load cap is taken. */
  loadFactor?: number;
  staleLoadMs?: number;
}

/** Rendezvous (HRW) hashing of a conversation key, optionally with bounded loads. */
export class RendezvousPolicy implements RoutingPolicy {
  readonly name = 'rendezvous';
  private readonly keyBlocks: number;
  private readonly loadFactor: number | undefined;
  private readonly staleLoadMs: number;
  private readonly sends: SendLog;
  private rotate = 0;

  constructor(opts: RendezvousOptions = {}) {
    this.keyBlocks = opts.keyBlocks ?? 8;
    this.loadFactor = opts.loadFactor;
    this.staleLoadMs = opts.staleLoadMs ?? DEFAULT_STALE_LOAD_MS;
    this.sends = new SendLog(this.staleLoadMs);
  }

  select(input: RoutingInput, candidates: readonly Candidate[]): Selection {
    const key = keyOf(input, this.keyBlocks);
    // No full block to hash: nothing to be affine to, rotate.
    const order = key === undefined ? null : rendezvousOrder(key, candidates);
    let index = order ? order[0]! : this.rotate++ % candidates.length;
    let reason = order ? 'rendezvous' : 'no-prefix';
    if (order && this.loadFactor !== undefined) {
      const loads = candidates.map((c) => effectiveLoad(c, input.now, this.staleLoadMs, this.sends));
      const fits = loadCap(loads, candidates, this.loadFactor);
      const rank = order.findIndex(fits);
      if (rank > 0) {
        index = order[rank]!;
        reason = `spill:${rank}`;
      }
    }
    this.sends.record(candidates[index]!.id, input.now);
    return { index, reason };
  }
}
