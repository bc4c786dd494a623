// Builds the parseLoad/parseLoadHeaders pair shared by every adapter from its metric names.
import { meanOf, readSamples, sumOf } from './prometheus-text.ts';
import type { EngineLoad, HeaderLookup, LoadMetricNames } from './types.ts';

export function loadFromMetrics(names: LoadMetricNames): (metricsText: string) => EngineLoad {
  const all = [...names.running, ...names.waiting, ...names.kvUsage, ...(names.cacheQueries ?? []), ...(names.cacheHits ?? [])];
  return (text) => {
    const samples = readSamples(text, all);
    const load: EngineLoad = {};
    const running = sumOf(samples, names.running);
    const waiting = sumOf(samples, names.waiting);
    const kvUsage = meanOf(samples, names.kvUsage);
    if (running !== undefined) load.running = running;
    if (waiting !== undefined) load.waiting = waiting;
    if (kvUsage !== undefined) load.kvUsage = kvUsage;
    const queries = sumOf(samples, names.cacheQueries ?? []);
    const hits = sumOf(samples, names.cacheHits ?? []);
    if (queries !== undefined && hits !== undefined) load.uncachedPromptTokens = Math.max(0, queries - hits);
    return load;
  };
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
