// vLLM (V1 engine) as the router sees it. Metric names from vllm/v1/metrics/loggers.py and docs.vllm.ai
// "Production Metrics"; the simulator presents itself exactly this way.
import { defineAdapter } from './define.ts';
import type { LoadMetricNames } from './types.ts';

const metricNames: LoadMetricNames = {
  running: ['vllm:num_requests_running'],
  waiting: ['vllm:num_requests_waiting'],
  // Renamed in vLLM 0.9; the old gauge is still exported (deprecated) by many deployed versions.
  kvUsage: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
  // Counters in tokens (V1) of prompt tokens looked up in the prefix cache and of those found; the gpu_ spelling is
  // the older one.
  uncached: {
    counted: ['vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total'],
    served: ['vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total'],
  },
};

/** vLLM's block size as it reports it (vllm:cache_config_info{block_size="16"}), if present. */
export function vllmBlockSize(metricsText: string): number | undefined {
  const m = /^vllm:cache_config_info\{[^}]*block_size="(\d+)"/m.exec(metricsText);
  return m ? Number(m[1]) : undefined;
}

export const vllmAdapter = defineAdapter({
  kind: 'vllm',
  healthPath: '/health',
  metricsPath: '/metrics',
  blockSizeTokens: 16,
  metricNames,
  // With --enable-prompt-tokens-details; without it usage has no details and responses carry no receipt.
  receiptSources: ['usage'],
});
