// One lab run = simulation metrics + the trace's bounds (bounds depend only on the trace and total capacity,
// so they are cached per prepared trace).
import { boundHitRate, pooledHitRate } from './bounds.ts';
import type { PreparedTrace } from './prepare.ts';
import { simulate, type SimulationOptions, type SimulationResult } from './simulate.ts';

export interface LabResult extends SimulationResult {
  boundHitRate: number;
  pooledHitRate: number;
  /** hitRate / pooledHitRate. */
  pooledShare: number;
  wallMs: number;
}

const boundCache = new WeakMap<PreparedTrace, { bound: number; pooled: Map<number, number> }>();

export function traceBounds(trace: PreparedTrace, totalCapacityTokens: number): { bound: number; pooled: number } {
  let c = boundCache.get(trace);
  if (!c) boundCache.set(trace, (c = { bound: boundHitRate(trace.requests), pooled: new Map() }));
  let pooled = c.pooled.get(totalCapacityTokens);
  if (pooled === undefined) c.pooled.set(totalCapacityTokens, (pooled = pooledHitRate(trace.requests, totalCapacityTokens)));
  return { bound: c.bound, pooled };
}

export function runLab(trace: PreparedTrace, opts: SimulationOptions): LabResult {
  const t0 = performance.now();
  const sim = simulate(trace, opts);
  const wallMs = performance.now() - t0;
  const b = traceBounds(trace, opts.capacityTokens * opts.backends);
  return { ...sim, boundHitRate: b.bound, pooledHitRate: b.pooled, pooledShare: b.pooled ? sim.hitRate / b.pooled : 0, wallMs };
}
