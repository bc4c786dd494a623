// Time windows: aligned to multiples of their size since the epoch, so every isolate and the store agree on
// window boundaries without coordination, and finer windows tile coarser ones exactly.

export interface WindowSpec {
  name: string;
  size: number;
  retention: number;
}

/** Identifies one window of one (model, arm) group. */
export interface WindowRef {
  window: string;
  start: number;
  model: string;
  arm: string;
}

export function windowStart(at: number, size: number): number {
  return Math.floor(at / size) * size;
}

/** Storage id of a window; the zero-padded start keeps ids of one group in time order. */
export function windowId(ref: WindowRef): string {
  return `w:${ref.window}:${String(ref.start).padStart(15, '0')}:${encodeURIComponent(ref.model)}:${encodeURIComponent(ref.arm)}`;
}

/** Whether a window of this spec starting at `start` is past retention at time `now`. */
export function expired(spec: WindowSpec, start: number, now: number): boolean {
  return start + spec.size + spec.retention <= now;
}

/**
 * The windows that together cover [from, to) for one group, coarsest first where one fits entirely and exists,
 * finer ones at the edges. `exists(spec, start)` says whether that window holds data. Periods without any window
 * (no traffic, or past retention) are skipped. Boundaries are rounded down to the finest window size.
 */
export function tileRange(
  specs: readonly WindowSpec[],
  from: number,
  to: number,
  exists: (spec: WindowSpec, start: number) => boolean,
): Array<{ spec: WindowSpec; start: number }> {
  const bySizeDesc = [...specs].sort((a, b) => b.size - a.size);
  const finest = bySizeDesc[bySizeDesc.length - 1]!.size; // a drift config has at least one window
  const out: Array<{ spec: WindowSpec; start: number }> = [];
  let t = windowStart(from, finest);
  const end = windowStart(to, finest);
  while (t < end) {
    let step = finest;
    for (const spec of bySizeDesc) {
      if (t % spec.size !== 0 || t + spec.size > end) continue;
      if (exists(spec, t)) {
        out.push({ spec, start: t });
        step = spec.size;
        break;
      }
      // Missing at this size (no traffic, or expired): finer windows may still hold the period.
    }
    t += step;
  }
  return out;
}
