// Builds an engine adapter from its description (paths, metric names, receipt sources). The readers come from the
// shared builders, so every adapter reads its engine the same way, and the docs table (docs/engines.md) is
// generated from the same description.
import { loadFromMetrics, loadFromSimHeaders } from './from-metrics.ts';
import { receiptFrom } from './receipts.ts';
import type { EngineAdapter } from './types.ts';

export type AdapterSpec = Omit<EngineAdapter, 'parseLoad' | 'parseLoadHeaders' | 'receipt'>;

export function defineAdapter(spec: AdapterSpec): EngineAdapter {
  return { ...spec, parseLoad: loadFromMetrics(spec.metricNames), parseLoadHeaders: loadFromSimHeaders, receipt: receiptFrom(spec.receiptSources) };
}
