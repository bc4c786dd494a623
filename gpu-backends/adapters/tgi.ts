// Hugging Face text-generation-inference. Metrics from its reference docs ("Metrics"): tgi_batch_current_size
// (running), tgi_queue_size (waiting); TGI exports no KV-usage gauge. Block size from
// server/text_generation_server/models/globals.py: 1 with flashinfer (the prefix-caching default of TGI v3),
// 16 with paged attention, 256 with flashdecoding.
import { loadFromMetrics, loadFromSimHeaders } from './from-metrics.ts';
import type { EngineAdapter, LoadMetricNames } from './types.ts';

const metricNames: LoadMetricNames = {
  running: ['tgi_batch_current_size'],
  waiting: ['tgi_queue_size'],
  kvUsage: [],
};

export const tgiAdapter: EngineAdapter = {
  kind: 'tgi',
  healthPath: '/health',
  metricsPath: '/metrics',
  blockSizeTokens: 1,
  metricNames,
  parseLoad: loadFromMetrics(metricNames),
  parseLoadHeaders: loadFromSimHeaders,
};
