// Builds the parseLoad/parseLoadHeaders pair shared by every adapter from its metric names.
import { meanOf, readSamples, sumOf } from './prometheus-text.ts';
import type { EngineLoad, HeaderLookup, LoadMetricNames } from './types.ts';

export function loadFromMetrics(names: LoadMetricNames): (metricsText: string) => EngineLoad {
  const all = [...names.running, ...names.waiting, ...names.kvUsage];
  return (text) => {
    const samples = readSamples(text, all);
    const load: EngineLoad = {};
    const running = sumOf(samples, names.running);
    const waiting = sumOf(samples, names.waiting);
    const kvUsage = meanOf(samples, names.kvUsage);
    if (running !== undefined) load.running = running;
    if (waiting !== undefined) load.waiting = waiting;
    if (kvUsage !== undefined) load.kvUsage = kvUsage;
    return load;
  };
}

/** Load headers the simulator adds to every response: x-sim-running, x-sim-waiting, x-sim-kv-usage. */
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
  if (running !== undefined) load.running = running;
  if (waiting !== undefined) load.waiting = waiting;
  if (kvUsage !== undefined) load.kvUsage = kvUsage;
  return load;
}
