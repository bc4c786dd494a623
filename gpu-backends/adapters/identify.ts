// Which engine a metrics page comes from, by the metric names each adapter reads: tells a backend whose metrics do
// not match its configured engine kind (a llama-server configured as vllm answers /metrics with no vllm: names).
import { metricNamesOf } from './from-metrics.ts';
import { ENGINE_ADAPTERS } from './index.ts';
import { readSamples } from './prometheus-text.ts';
import type { EngineAdapter, EngineKind } from './types.ts';

/** Whether the metrics text carries any metric the adapter reads. */
export function metricsMatch(adapter: EngineAdapter, metricsText: string): boolean {
  return readSamples(metricsText, metricNamesOf(adapter.metricNames)).size > 0;
}

/** The engine kinds (other than `except`) whose metrics the text carries. */
export function enginesInMetrics(metricsText: string, except?: EngineKind): EngineKind[] {
  return Object.values(ENGINE_ADAPTERS)
    .filter((a) => a.kind !== except && a.metricsPath && metricsMatch(a, metricsText))
    .map((a) => a.kind);
}
