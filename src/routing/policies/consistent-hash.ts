import { combine32, hashString } from '../../util/hash.ts';
import type { Candidate, RoutingInput, RoutingPolicy, Selection } from './policy.ts';
import { DEFAULT_STALE_LOAD_MS, effectiveLoad, loadCap, SendLog } from './load.ts';
import { keyOf } from './rendezvous.ts';

export interface ConsistentHashOptions {
  keyBlocks?: number;
  /** c in Mirrokni et al.; 1.25 is the value Vimeo/HAProxy settled on. */
  loadFactor?: number;
  virtualNodes?: number;
  staleLoadMs?: number;
}

interface Ring {
  points: Uint32Array;
  /** Backend id of each point. */
  owners: string[];
}

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, SODA'18): a key goes to the first
 * backend clockwise from its ring position whose load is under ceil(c * (total + 1) / n); full backends are
 * skipped, so a popular key overflows to the next backends on the ring, the same ones for every router.
 */
export class ConsistentHashPolicy implements RoutingPolicy {
  readonly name = 'consistent-hash';
  private readonly keyBlocks: number;
  private readonly loadFactor: number;
  private readonly virtualNodes: number;
  private readonly staleLoadMs: number;
  private readonly sends: SendLog;
  private ring: Ring | undefined;
  private ringKey = '';
  private rotate = 0;

  constructor(opts: ConsistentHashOptions = {}) {
    this.keyBlocks = opts.keyBlocks ?? 8;
    this.loadFactor = opts.loadFactor ?? 1.25;
    this.virtualNodes = opts.virtualNodes ?? 160;
    this.staleLoadMs = opts.staleLoadMs ?? DEFAULT_STALE_LOAD_MS;
    this.sends = new SendLog(this.staleLoadMs);
  }

  select(input: RoutingInput, candidates: readonly Candidate[]): Selection {
    const key = keyOf(input, this.keyBlocks);
    if (key === undefined) {
      const index = this.rotate++ % candidates.length;
      this.sends.record(candidates[index]!.id, input.now);
      return { index, reason: 'no-prefix' };
    }
    const ring = this.ringFor(candidates);
    const position = new Map<string, number>();
    candidates.forEach((c, i) => position.set(c.id, i));
    const loads = candidates.map((c) => effectiveLoad(c, input.now, this.staleLoadMs, this.sends));
    const fits = loadCap(loads, candidates, this.loadFactor);

    const start = lowerBound(ring.points, key >>> 0);
    const seen = new Set<number>();
    let index = -1;
    let first = -1;
    for (let k = 0; k < ring.points.length && seen.size < candidates.length; k++) {
      const i = position.get(ring.owners[(start + k) % ring.points.length]!)!;
      if (seen.has(i)) continue;
      seen.add(i);
      if (first < 0) first = i;
      if (fits(i)) {
        index = i;
        break;
      }
    }
    const reason = index === first ? 'consistent-hash' : index < 0 ? 'all-full' : `spill:${seen.size - 1}`;
    if (index < 0) index = first; // everyone is over the cap (only possible with loadFactor < 1 rounding): owner
    this.sends.record(candidates[index]!.id, input.now);
    return { index, reason };
  }

  /** The ring for this candidate set, rebuilt only when the set (ids or weights) changes. */
  private ringFor(candidates: readonly Candidate[]): Ring {
    const key = candidates.map((c) => `${c.id}*${c.weight}`).join('|');
    if (this.ring && key === this.ringKey) return this.ring;
    const pts: { p: number; id: string }[] = [];
    for (const c of candidates) {
      const base = hashString(c.id, 0x72696e67);
      const count = Math.max(1, Math.round(this.virtualNodes * (c.weight > 0 ? c.weight : 1)));
      for (let v = 0; v < count; v++) pts.push({ p: combine32(base, v), id: c.id });
    }
    pts.sort((a, b) => a.p - b.p || (a.id < b.id ? -1 : 1));
    this.ring = { points: Uint32Array.from(pts, (x) => x.p), owners: pts.map((x) => x.id) };
    this.ringKey = key;
    return this.ring;
  }
}

/** First index whose point is >= x (wrapping to 0 past the end). */
function lowerBound(points: Uint32Array, x: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}
