// The llama.cpp adapter against text taken from llama.cpp's server (tools/server: README.md, the /metrics handler
// and server_slot::to_json in server-context.cpp): a b4500-era build that still exports kv_cache_usage_ratio, and
// a current one that does not; /slots in the current and the 2024 shape.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adapterFor, ENGINE_ADAPTERS } from '../../../../gpu-backends/adapters/index.ts';
import { enginesInMetrics, metricsMatch } from '../../../../gpu-backends/adapters/identify.ts';
import { Engine } from '../../../../gpu-backends/simulator/engine.ts';
import { SimMetrics } from '../../../../gpu-backends/simulator/metrics.ts';
import { anyOf } from '../../../helpers/matchers.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
/** A chat completion as an engine answered it (the adapters read it as `unknown`). */
const answerFixture = (name: string) => JSON.parse(fixture(name)) as { usage?: unknown };
const llama = adapterFor('llama-cpp');

describe('llama.cpp adapter: /metrics', () => {
  it('reads running, waiting, KV usage, and the prompt-token counter as the uncached count itself', () => {
    expect(llama.parseLoad(fixture('llamacpp-metrics-b4500.txt'))).toEqual({ running: 3, waiting: 2, kvUsage: 0.25, uncachedPromptTokens: 33065 });
  });

  it('a current build without kv_cache_usage_ratio: no KV figure rather than a wrong one', () => {
    expect(llama.parseLoad(fixture('llamacpp-metrics-current.txt'))).toEqual({ running: 4, waiting: 46, uncachedPromptTokens: 6886 });
  });

  it('waits longer for a scrape than the default: llama-server answers from its main loop, ~2 s late under load', () => {
    expect(llama.scrapeTimeoutMs).toBeGreaterThan(2_000);
  });

  it('one mechanism for both kinds of counter: queries minus hits (vLLM, SGLang) or the uncached count (llama.cpp)', () => {
    expect(adapterFor('vllm').metricNames.uncached).toEqual({ counted: anyOf(Array), served: anyOf(Array) });
    expect(llama.metricNames.uncached).toEqual({ counted: ['llamacpp:prompt_tokens_total'] });
    expect(adapterFor('vllm').parseLoad('vllm:prefix_cache_queries_total 1000\nvllm:prefix_cache_hits_total 600\n')).toEqual({ uncachedPromptTokens: 400 });
    expect(llama.parseLoad('llamacpp:prompt_tokens_total 400\n')).toEqual({ uncachedPromptTokens: 400 });
  });
});

describe('which engine a metrics page comes from', () => {
  const sim = () => {
    const engine = new Engine();
    return new SimMetrics().render(engine.snapshot(), 'm', 16, true);
  };

  it('llama-server metrics match llama-cpp and nothing else', () => {
    for (const f of ['llamacpp-metrics-b4500.txt', 'llamacpp-metrics-current.txt']) {
      expect(metricsMatch(llama, fixture(f))).toBe(true);
      expect(metricsMatch(adapterFor('vllm'), fixture(f))).toBe(false);
      expect(enginesInMetrics(fixture(f), 'vllm')).toEqual(['llama-cpp']);
    }
  });

  it('the simulator presents itself as vLLM', () => {
    expect(metricsMatch(adapterFor('vllm'), sim())).toBe(true);
    expect(metricsMatch(llama, sim())).toBe(false);
    expect(enginesInMetrics(sim(), 'llama-cpp')).toEqual(['vllm']);
  });

  it('a page of no engine matches none', () => {
    expect(enginesInMetrics('process_cpu_seconds_total 12\n')).toEqual([]);
  });
});

describe('llama.cpp adapter: /slots', () => {
  it('busy slots, tokens held and tokens found in cache per slot (current shape)', () => {
    expect(llama.parseSlots!(JSON.parse(fixture('llamacpp-slots-current.json')))).toEqual([
      { id: 0, busy: true, tokens: 1627, cachedTokens: 1600 },
      { id: 1, busy: false, tokens: 400, cachedTokens: 0 },
      { id: 2, busy: false },
    ]);
  });

  it('the 2024 shape (state, n_past)', () => {
    expect(llama.parseSlots!(JSON.parse(fixture('llamacpp-slots-2024.json')))).toEqual([
      { id: 0, busy: true, tokens: 530 },
      { id: 1, busy: false, tokens: 0 },
    ]);
  });

  it('anything else is no slot list', () => {
    for (const bad of [{}, null, 'x', [{ is_processing: true }], [{ id: -1 }], [1, 2]]) expect(llama.parseSlots!(bad)).toBeNull();
    expect(llama.parseSlots!([{ id: 0, is_processing: true, n_prompt_tokens: 'many', n_prompt_tokens_cache: -4 }])).toEqual([{ id: 0, busy: true }]);
  });
});

describe('receipts as each adapter reads them (raw; the router sanitises)', () => {
  const usageOf = (msg: { usage?: unknown }) => msg.usage;

  it('llama.cpp: timings.cache_n and timings.prompt_n, in older builds the only statement', () => {
    const old = answerFixture('llamacpp-chat-b4500.json');
    expect(llama.receipt(old, usageOf(old))).toEqual({ promptTokens: 1615, cachedTokens: 1600 });
    const current = answerFixture('llamacpp-chat-current.json');
    expect(llama.receipt(current, usageOf(current))).toEqual({ promptTokens: 1615, cachedTokens: 1536 });
  });

  it('llama.cpp: a partial result (prompt_n -1) states nothing yet', () => {
    expect(llama.receipt({ timings: { cache_n: 100, prompt_n: -1 } }, undefined)).toBeNull();
  });

  it('OpenAI-shaped engines: usage.prompt_tokens_details.cached_tokens; without details, no receipt', () => {
    const withDetails = { prompt_tokens: 300, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 256 } };
    for (const kind of ['vllm', 'sglang', 'tgi', 'openai-compatible'] as const) {
      expect(adapterFor(kind).receipt({ usage: withDetails }, withDetails)).toEqual({ promptTokens: 300, cachedTokens: 256 });
      expect(adapterFor(kind).receipt({}, { prompt_tokens: 300, completion_tokens: 5, prompt_tokens_details: null })).toBeNull();
      expect(adapterFor(kind).receipt({}, { prompt_tokens: 300, completion_tokens: 5 })).toBeNull();
    }
  });

  it('llama.cpp timings are read by llama-cpp and openai-compatible (a llama-server configured as such), not by vllm', () => {
    const old = answerFixture('llamacpp-chat-b4500.json');
    expect(adapterFor('openai-compatible').receipt(old, old.usage)).toEqual({ promptTokens: 1615, cachedTokens: 1600 });
    expect(adapterFor('vllm').receipt(old, old.usage)).toBeNull();
  });

  it('every adapter names where its responses state cached tokens', () => {
    for (const a of Object.values(ENGINE_ADAPTERS)) expect(a.receiptSources.length).toBeGreaterThan(0);
  });
});
