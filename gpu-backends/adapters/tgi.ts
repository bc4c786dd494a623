// Hugging Face text-generation-inference. Metrics from its reference docs ("Metrics"): tgi_batch_current_size
// (running), tgi_queue_size (waiting); TGI exports no KV-usage gauge. Block size from
// server/text_generation_server/models/globals.py: 1 with flashinfer (the prefix-caching default of TGI v3),
// 16 with paged attention, 256 with flashdecoding.
import { defineAdapter } from './define.ts';
import type { LoadMetricNames } from './types.ts';

const metricNames: LoadMetricNames = {
  running: ['tgi_batch_current_size'],
  waiting: ['tgi_queue_size'],
  kvUsage: [],
};

export const tgiAdapter = defineAdapter({
  kind: 'tgi',
  healthPath: '/health',
  metricsPath: '/metrics',
  blockSizeTokens: 1,
  metricNames,
  // Its usage has no prompt_tokens_details today; read them should a version add them.
  receiptSources: ['usage'],
});
