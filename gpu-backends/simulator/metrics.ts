// The simulator's /metrics: Prometheus text format with vLLM V1's metric names, label set and histogram buckets
// (vllm/v1/metrics/loggers.py), or llama-server's `llamacpp:` names (tools/server, unlabelled, no histograms) for
// a llama.cpp profile. Gauges and token counters come from the engine snapshot; latency histograms are observed
// by the server in simulated seconds.
import { type EngineSnapshot, uncachedPromptTokens } from './engine.ts';
import type { EngineKind } from './profiles.ts';

// Bucket bounds copied from vLLM's PrometheusStatLogger.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
const TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
const REQUEST_LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.counts[i]!++;
  }

  get observations(): number {
    return this.count;
  }

  render(labels: string): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    lines.push(`${this.name}_sum{${labels}} ${num(this.sum)}`);
    this.bounds.forEach((b, i) => lines.push(`${this.name}_bucket{${labels},le="${num(b)}"} ${num(this.counts[i]!)}`));
    lines.push(`${this.name}_bucket{${labels},le="+Inf"} ${num(this.count)}`);
    lines.push(`${this.name}_count{${labels}} ${num(this.count)}`);
    return lines.join('\n');
  }
}

/** Prometheus float formatting as prometheus_client does it (1.0, 0.25, +Inf). */
function num(v: number): string {
  if (v === Infinity) return '+Inf';
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class SimMetrics {
  readonly ttft = new Histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT_BUCKETS);
  readonly tpot = new Histogram('vllm:time_per_output_token_seconds', 'Histogram of time per output token in seconds.', TPOT_BUCKETS);
  readonly e2e = new Histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', REQUEST_LATENCY_BUCKETS);

  /** Records a request's time to first token (simulated ms) when the token is produced, as vLLM does. */
  observeFirstToken(ttftMs: number): void {
    this.ttft.observe(ttftMs / 1000);
  }

  /** Records a finished request's end-to-end latency and time per output token (simulated ms). */
  observeFinished(ttftMs: number | undefined, e2eMs: number, generatedTokens: number): void {
    this.e2e.observe(e2eMs / 1000);
    if (ttftMs !== undefined && generatedTokens > 1) this.tpot.observe((e2eMs - ttftMs) / 1000 / (generatedTokens - 1));
  }

  /** Renders the snapshot the way the engine kind `kind` does (llamacpp: names for 'llama.cpp'). */
  renderFor(kind: EngineKind, s: EngineSnapshot, modelName: string, blockSize: number, prefixCaching: boolean): string {
    return kind === 'llama.cpp' ? renderLlamaCpp(s, blockSize) : this.render(s, modelName, blockSize, prefixCaching);
  }

  render(s: EngineSnapshot, modelName: string, blockSize: number, prefixCaching: boolean): string {
    const labels = `engine="0",model_name="${escapeLabel(modelName)}"`;
    const out: string[] = [];
    const gauge = (name: string, help: string, v: number) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}{${labels}} ${num(v)}`);
    const counter = (name: string, help: string, v: number) =>
      out.push(`# HELP ${name}_total ${help}`, `# TYPE ${name}_total counter`, `${name}_total{${labels}} ${num(v)}`);

    gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', s.running);
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', s.waiting);
    gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', s.kvUsage);
    gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead.', s.kvUsage);
    counter('vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', s.prefixCacheQueries);
    counter('vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', s.prefixCacheHits);
    counter('vllm:num_preemptions', 'Cumulative number of preemption from the engine.', s.preemptions);
    counter('vllm:prompt_tokens', 'Number of prefill tokens processed.', s.promptTokens);
    counter('vllm:generation_tokens', 'Number of generation tokens processed.', s.generationTokens);
    out.push('# HELP vllm:request_success_total Count of successfully processed requests.', '# TYPE vllm:request_success_total counter');
    for (const reason of ['stop', 'length', 'abort'] as const) {
      out.push(`vllm:request_success_total{${labels},finished_reason="${reason}"} ${num(s.finished[reason])}`);
    }
    out.push(this.ttft.render(labels), this.tpot.render(labels), this.e2e.render(labels));
    out.push(
      '# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig',
      '# TYPE vllm:cache_config_info gauge',
      `vllm:cache_config_info{block_size="${blockSize}",enable_prefix_caching="${prefixCaching ? 'True' : 'False'}",engine="0",num_gpu_blocks="${s.totalBlocks}"} 1.0`,
    );
    return out.join('\n') + '\n';
  }
}

/**
 * llama-server's /metrics (server_task_result_metrics::to_metrics): counters, then gauges, no labels.
 * prompt_tokens_total counts only the prompt tokens it processed, i.e. not those reused from a slot's cache.
 */
export function renderLlamaCpp(s: EngineSnapshot, blockSize: number): string {
  const out: string[] = [];
  const item = (type: 'counter' | 'gauge', name: string, help: string, v: number) =>
    out.push(`# HELP llamacpp:${name} ${help}`, `# TYPE llamacpp:${name} ${type}`, `llamacpp:${name} ${v}`);
  item('counter', 'prompt_tokens_total', 'Number of prompt tokens processed, excluding cached tokens', uncachedPromptTokens(s));
  item('counter', 'prompt_tokens_cached_total', 'Number of prompt tokens reused from the cache', s.prefixCacheHits);
  item('counter', 'tokens_predicted_total', 'Number of generation tokens processed', s.generationTokens);
  item('counter', 'n_decode_total', 'Total number of llama_decode() calls', s.steps);
  item('gauge', 'kv_cache_usage_ratio', 'KV-cache usage. 1 means 100 percent usage.', Number(s.kvUsage.toFixed(6)));
  item('gauge', 'kv_cache_tokens', 'KV-cache tokens.', s.usedBlocks * blockSize);
  item('gauge', 'requests_processing', 'Number of requests processing', s.running);
  item('gauge', 'requests_deferred', 'Number of requests deferred', s.waiting);
  return out.join('\n') + '\n';
}
