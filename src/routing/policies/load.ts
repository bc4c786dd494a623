// How load-aware policies read a backend's load, and what they do with stale engine reports.
//
// The router knows two things about a backend: its own in-flight count (fresh, but with R router replicas it
// sees only ~1/R of the truth) and the engine's running + waiting count (the truth, but as of `observedAt`,
// one scrape interval or one response ago). The effective load is the engine report plus the requests this
// instance has sent to the backend since the report was taken (they cannot be in it yet), and never less
// than the own in-flight count. A report older than `staleLoadMs` is ignored: the own count is used alone.
import type { Candidate } from './policy.ts';

export const DEFAULT_STALE_LOAD_MS = 5_000;

/** Remembers when this instance sent requests to each backend, for the "sent since the report" correction. */
export class SendLog {
  private readonly times = new Map<string, number[]>();
  constructor(private readonly horizonMs: number) {}

  record(backendId: string, now: number): void {
    let t = this.times.get(backendId);
    if (!t) this.times.set(backendId, (t = []));
    // Kept in time order (a clock that went back is put in its place), so since() can search instead of scan.
    if (t.length === 0 || t[t.length - 1]! <= now) t.push(now);
    else t.splice(firstAtOrAfter(t, now), 0, now);
    // Drop sends older than any report we would still trust.
    if (t.length > 64 && t[0]! < now - this.horizonMs) {
      let k = 0;
      while (k < t.length && t[k]! < now - this.horizonMs) k++;
      t.splice(0, k);
    }
  }

  /**
   * Sends to `backendId` at or after `since`: a binary search (the log holds every send of the last horizonMs, which
   * at thousands of requests a second made a scan the costliest part of placing a request).
   */
  since(backendId: string, since: number): number {
    const t = this.times.get(backendId);
    return t ? t.length - firstAtOrAfter(t, since) : 0;
  }
}

/** Index of the first element >= x in the ascending array `t` (t.length if none). */
function firstAtOrAfter(t: readonly number[], x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! >= x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Load of `c` in requests, per unit of weight (see the file comment for the staleness rule). */
export function effectiveLoad(c: Candidate, now: number, staleLoadMs: number, sends?: SendLog): number {
  const l = c.load;
  let load = l.inflight;
  const reported = (l.running ?? 0) + (l.waiting ?? 0);
  if (l.observedAt !== undefined && (l.running !== undefined || l.waiting !== undefined) && now - l.observedAt <= staleLoadMs) {
    const corrected = reported + (sends ? sends.since(c.id, l.observedAt) : 0);
    if (corrected > load) load = corrected;
  }
  return load / (c.weight > 0 ? c.weight : 1);
}

/**
 * The bounded-load cap of Mirrokni et al.: with total load L over candidates of total weight W, a backend of
 * weight w may take a new request while its load + 1 <= ceil(c * (L + 1) * w / W). The "+1" counts the request
 * being placed; the ceiling keeps an idle pool from refusing everyone.
 */
export function loadCap(loads: readonly number[], candidates: readonly Candidate[], loadFactor: number): (i: number) => boolean {
  const { total, weights } = weightedTotal(loads, candidates);
  return (i: number) => {
    const w = candidates[i]!.weight > 0 ? candidates[i]!.weight : 1;
    return (loads[i]! * w + 1) <= Math.ceil((loadFactor * (total + 1) * w) / weights);
  };
}

/** Sum of per-unit-of-weight `values` times each candidate's weight (a weight <= 0 counts as 1), and the weights. */
export function weightedTotal(values: readonly number[], candidates: readonly Candidate[]): { total: number; weights: number } {
  let total = 0;
  let weights = 0;
  for (let i = 0; i < values.length; i++) {
    const w = candidates[i]!.weight > 0 ? candidates[i]!.weight : 1;
    total += values[i]! * w;
    weights += w;
  }
  return { total, weights };
}

/** Index of the least `loads` entry; ties go to the earliest in `order` (default: rotate by `offset`). */
export function argminLoad(loads: readonly number[], offset = 0): number {
  const n = loads.length;
  let best = 0;
  let bestLoad = Infinity;
  for (let k = 0; k < n; k++) {
    const i = (k + offset) % n;
    if (loads[i]! < bestLoad) {
      bestLoad = loads[i]!;
      best = i;
    }
  }
  return best;
}

/**
 * Requests this instance sent to each backend lately: a count decaying with time constant `timeConstantMs`. With
 * one router it is each backend's share of the traffic over the last minute or so, which in-flight counts miss
 * between the turns of the conversations a backend holds.
 */
export class RecentSends {
  private readonly counts = new Map<string, { value: number; at: number }>();
  constructor(private readonly timeConstantMs: number) {}

  record(backendId: string, now: number): void {
    const c = this.counts.get(backendId);
    if (!c) this.counts.set(backendId, { value: 1, at: now });
    else {
      c.value = c.value * Math.exp(-Math.max(0, now - c.at) / this.timeConstantMs) + 1;
      c.at = now;
    }
  }

  /** The decayed count of `backendId` at `now`. */
  of(backendId: string, now: number): number {
    const c = this.counts.get(backendId);
    return c ? c.value * Math.exp(-Math.max(0, now - c.at) / this.timeConstantMs) : 0;
  }
}
