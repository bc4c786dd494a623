// Builds the parseLoad/parseLoadHeaders pair shared by every adapter from its metric names.
import { meanOf, readSamples, sumOf } from './prometheus-text.ts';
import type { EngineLoad, HeaderLookup, LoadMetricNames, SlotState } from './types.ts';

/** Every metric name an adapter reads. */
export function metricNamesOf(names: LoadMetricNames): string[] {
  return [...names.running, ...names.waiting, ...names.kvUsage, ...(names.uncached?.counted ?? []), ...(names.uncached?.served ?? [])];
}

export function loadFromMetrics(names: LoadMetricNames): (metricsText: string) => EngineLoad {
  const all = metricNamesOf(names);
  return (text) => {
    const samples = readSamples(text, all);
    const load: EngineLoad = {};
    const running = sumOf(samples, names.running);
    const waiting = sumOf(samples, names.waiting);
    const kvUsage = meanOf(samples, names.kvUsage);
    if (running !== undefined) load.running = running;
    if (waiting !== undefined) load.waiting = waiting;
    if (kvUsage !== undefined) load.kvUsage = kvUsage;
    if (names.uncached) {
      const counted = sumOf(samples, names.uncached.counted);
      // Only one of a pair of counters: no figure rather than a wrong one.
      const served = names.uncached.served ? sumOf(samples, names.uncached.served) : 0;
      if (counted !== undefined && served !== undefined) load.uncachedPromptTokens = Math.max(0, counted - served);
    }
    return load;
  };
}

/** How many of an engine's slots are busy (its running requests, where it has slots). */
export function busySlots(slots: readonly SlotState[]): number {
  return slots.reduce((n, s) => n + (s.busy ? 1 : 0), 0);
}

/** Load headers the simulator adds to every response: x-sim-running, x-sim-waiting, x-sim-kv-usage, x-sim-uncached-tokens. */
export function loadFromSimHeaders(get: HeaderLookup): EngineLoad {
  const load: EngineLoad = {};
  const read = (name: string) => {
    const v = get(name);
    if (v == null || v === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const running = read('x-sim-running');
  const waiting = read('x-sim-waiting');
  const kvUsage = read('x-sim-kv-usage');
  const uncached = read('x-sim-uncached-tokens');
  if (running !== undefined) load.running = running;
  if (waiting !== undefined) load.waiting = waiting;
  if (kvUsage !== undefined) load.kvUsage = kvUsage;
  if (uncached !== undefined) load.uncachedPromptTokens = uncached;
  return load;
}
