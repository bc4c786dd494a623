// SGLang (python -m sglang.launch_server --enable-metrics). Gauges from sglang/srt/metrics/collector.py and
// docs.sglang.io "Production Metrics": num_running_reqs, num_queue_reqs, token_usage (KV pool occupancy 0..1).
import { defineAdapter } from './define.ts';
import type { LoadMetricNames } from './types.ts';

const metricNames: LoadMetricNames = {
  running: ['sglang:num_running_reqs'],
  waiting: ['sglang:num_queue_reqs'],
  kvUsage: ['sglang:token_usage'],
  // Prompt tokens, and those served from cache (summed over cache_source where the version labels it).
  uncached: { counted: ['sglang:prompt_tokens_total'], served: ['sglang:cached_tokens_total'] },
};

export const sglangAdapter = defineAdapter({
  kind: 'sglang',
  healthPath: '/health',
  metricsPath: '/metrics',
  metricsHint: 'start SGLang with --enable-metrics',
  // RadixAttention caches at token granularity by default (--page-size 1); larger pages are opt-in.
  blockSizeTokens: 1,
  metricNames,
  receiptSources: ['usage'],
});
