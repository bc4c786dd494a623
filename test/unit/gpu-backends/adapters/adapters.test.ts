import { describe, expect, it } from 'vitest';
import { adapterFor, ENGINE_ADAPTERS, vllmBlockSize } from '../../../../gpu-backends/adapters/index.ts';
import { Engine } from '../../../../gpu-backends/simulator/engine.ts';
import { SimMetrics } from '../../../../gpu-backends/simulator/metrics.ts';
import { promptText, request } from '../simulator/drive.ts';

describe('engine adapters', () => {
  it('the vLLM adapter reads the simulator\'s /metrics', () => {
    const engine = new Engine();
    for (let i = 0; i < 300; i++) engine.submit(request(`r${i}`, promptText(200, `r${i}`), 100), 0);
    const snap = engine.snapshot();
    const text = new SimMetrics().render(snap, 'm', 16, true);
    const load = adapterFor('vllm').parseLoad(text);
    expect(load).toEqual({ running: snap.running, waiting: snap.waiting, kvUsage: snap.kvUsage, uncachedPromptTokens: snap.prefixCacheQueries - snap.prefixCacheHits });
    expect(load.running).toBeGreaterThan(0);
    expect(load.running! + load.waiting!).toBe(300);
    expect(load.kvUsage).toBeGreaterThan(0);
    expect(vllmBlockSize(text)).toBe(16);
  });

  it('vLLM: falls back to the pre-0.9 KV gauge and sums per-engine gauges', () => {
    const text = [
      '# TYPE vllm:num_requests_running gauge',
      'vllm:num_requests_running{engine="0",model_name="x"} 3.0',
      'vllm:num_requests_running{engine="1",model_name="x"} 4.0',
      'vllm:num_requests_waiting{model_name="x"} 2',
      'vllm:gpu_cache_usage_perc{model_name="x"} 0.5',
      'vllm:gpu_prefix_cache_queries_total{model_name="x"} 1000',
      'vllm:gpu_prefix_cache_hits_total{model_name="x"} 600',
    ].join('\n');
    expect(adapterFor('vllm').parseLoad(text)).toEqual({ running: 7, waiting: 2, kvUsage: 0.5, uncachedPromptTokens: 400 });
    // Only one of the two counters: no fill figure rather than a wrong one.
    expect(adapterFor('vllm').parseLoad('vllm:prefix_cache_queries_total 10\n')).toEqual({});
  });

  it('SGLang and TGI gauges', () => {
    const sglang = 'sglang:num_running_reqs{model_name="m"} 8\nsglang:num_queue_reqs{model_name="m"} 4\nsglang:token_usage{model_name="m"} 0.52\n';
    expect(adapterFor('sglang').parseLoad(sglang)).toEqual({ running: 8, waiting: 4, kvUsage: 0.52 });
    const counters = 'sglang:prompt_tokens_total{model_name="m"} 5000\nsglang:cached_tokens_total{model_name="m",cache_source="device"} 3000\nsglang:cached_tokens_total{model_name="m",cache_source="host"} 500\n';
    expect(adapterFor('sglang').parseLoad(counters)).toEqual({ uncachedPromptTokens: 1500 });
    const tgi = '# TYPE tgi_queue_size gauge\ntgi_queue_size 5\ntgi_batch_current_size 12\n';
    expect(adapterFor('tgi').parseLoad(tgi)).toEqual({ running: 12, waiting: 5 });
    expect(adapterFor('openai-compatible').parseLoad(sglang)).toEqual({});
  });

  it('piggy-backed load headers', () => {
    const h: Record<string, string> = { 'x-sim-running': '3', 'x-sim-waiting': '0', 'x-sim-kv-usage': '0.1250', 'x-sim-uncached-tokens': '4096' };
    expect(adapterFor('vllm').parseLoadHeaders((n) => h[n])).toEqual({ running: 3, waiting: 0, kvUsage: 0.125, uncachedPromptTokens: 4096 });
    expect(adapterFor('vllm').parseLoadHeaders(() => null)).toEqual({});
  });

  it('every adapter names its health path and block size', () => {
    for (const a of Object.values(ENGINE_ADAPTERS)) {
      expect(a.healthPath.startsWith('/')).toBe(true);
      expect(a.blockSizeTokens).toBeGreaterThanOrEqual(1);
    }
  });
});
