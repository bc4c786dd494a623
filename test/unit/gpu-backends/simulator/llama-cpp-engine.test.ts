// The llama.cpp-like engine profile: one cached prompt per slot, longest-common-prefix slot choice, a FIFO of
// deferred requests when every slot is busy, prefill of the uncached part only, and llama-server's counters.
import { describe, expect, it } from 'vitest';
import { Engine, uncachedPromptTokens } from '../../../../gpu-backends/simulator/engine.ts';
import { commonPrefix, SlotCache } from '../../../../gpu-backends/simulator/kv-cache.ts';
import { renderLlamaCpp } from '../../../../gpu-backends/simulator/metrics.ts';
import { contextLimit, engineConfig } from '../../../../gpu-backends/simulator/profiles.ts';
import { finished, firstToken, promptText, request, runToIdle } from './drive.ts';

const PROFILE = 'llama-cpp-32m-cpu';
const llama = (overrides = {}) => new Engine(engineConfig(PROFILE, overrides));

/** Serves `text` alone on an idle engine at `t` and returns its cached tokens. */
function serve(engine: Engine, id: string, text: string, t: number, maxTokens = 1): number {
  engine.submit(request(id, text, maxTokens), t);
  return firstToken(runToIdle(engine), id).cachedTokens;
}

describe('llama.cpp profile: slot cache', () => {
  it('a request takes the idle slot holding the longest common prefix of its prompt', () => {
    const engine = llama();
    const docs = ['a', 'b', 'c', 'd'].map((tag) => promptText(800, tag));
    docs.forEach((d, i) => expect(serve(engine, `first-${i}`, d, i * 100_000)).toBe(0));
    // Each of the four prompts is still in its own slot: every next turn hits its whole prefix.
    docs.forEach((d, i) => expect(serve(engine, `next-${i}`, d + promptText(100, `turn-${i}`), 1e6 + i * 100_000)).toBe(800));
  });

  it('a slot holds one prompt: a fifth prompt overwrites the least recently used slot', () => {
    const engine = llama();
    const docs = ['a', 'b', 'c', 'd', 'e'].map((tag) => promptText(800, tag));
    docs.forEach((d, i) => serve(engine, `w${i}`, d, i * 100_000));
    // 'e' took the slot of 'a' (least recently used); the others stayed. A vLLM engine would still hold 'a'.
    expect(serve(engine, 'again-b', docs[1]!, 1e6)).toBe(784);
    expect(serve(engine, 'again-a', docs[0]!, 2e6)).toBe(0);
    const vllm = new Engine(engineConfig());
    docs.forEach((d, i) => serve(vllm, `w${i}`, d, i * 100_000));
    expect(serve(vllm, 'again-a', docs[0]!, 1e6)).toBe(784);
  });

  it('a prefix below the similarity threshold does not pick its slot: the least recently used one is taken', () => {
    const engine = llama();
    const shared = promptText(64, 'tools'); // 4 blocks
    serve(engine, 'x', shared + promptText(600, 'x'), 0); // slot 0: the shared prefix
    ['p', 'q', 'r'].forEach((t, i) => serve(engine, t, promptText(600, t), (i + 1) * 100_000)); // slots 1-3
    // 64 of 1264 tokens is 5% of the new prompt (< 10%): the LRU slot is slot 0 anyway, which reuses the prefix.
    expect(serve(engine, 'y', shared + promptText(1200, 'y'), 1e6)).toBe(64);
    // Now slot 1 ('p') is the least recently used: a prompt sharing 5% with slot 0 ('y') goes there and reuses nothing.
    expect(serve(engine, 'z', shared + promptText(1200, 'z'), 2e6)).toBe(0);
    // Above the threshold (64 of 320 tokens = 20%) the matching slot is taken although it is not the LRU one.
    expect(serve(engine, 'w', shared + promptText(256, 'w'), 3e6)).toBe(64);
  });

  it('prefills only the uncached part: a cached context makes the next turn fast', () => {
    const engine = llama();
    const context = promptText(3000, 'session');
    engine.submit(request('cold', context), 0);
    const cold = firstToken(runToIdle(engine), 'cold').time;
    engine.submit(request('warm', context + promptText(100, 'step')), 1e6);
    const warm = firstToken(runToIdle(engine), 'warm');
    expect(warm.cachedTokens).toBe(3000 - (3000 % 16));
    expect(warm.time - 1e6).toBeLessThan(cold / 10);
  });

  it('with every slot busy, requests wait in arrival order and are counted as deferred', () => {
    const engine = llama();
    for (let i = 0; i < 6; i++) engine.submit(request(`r${i}`, promptText(64, `r${i}`), 50 + i), 0);
    engine.nextEventTime();
    expect(engine.snapshot()).toMatchObject({ running: 4, waiting: 2, deferred: 2 });
    const events = runToIdle(engine);
    const firstOfSlotFreed = Math.min(...[0, 1, 2, 3].map((i) => finished(events, `r${i}`).time));
    expect(firstToken(events, 'r4').time).toBeGreaterThan(firstOfSlotFreed);
    expect(firstToken(events, 'r5').time).toBeGreaterThanOrEqual(firstToken(events, 'r4').time);
    expect(firstToken(events, 'r4').admittedAt).toBeLessThanOrEqual(firstToken(events, 'r5').admittedAt);
    expect(engine.snapshot()).toMatchObject({ running: 0, waiting: 0, deferred: 2 });
  });

  it('its counters agree with what each request was told: cached and processed prompt tokens', () => {
    const engine = llama();
    const ctx = promptText(1000, 'ctx');
    const events = [];
    for (let i = 0; i < 8; i++) {
      engine.submit(request(`s${i}`, ctx + promptText(50 * (i + 1), `s${i}`), 3), i * 50_000);
      events.push(...runToIdle(engine));
    }
    const cached = events.filter((e) => e.kind === 'first_token').reduce((a, e) => a + (e.kind === 'first_token' ? e.cachedTokens : 0), 0);
    const s = engine.snapshot();
    expect(s.prefixCacheHits).toBe(cached);
    const prompts = Array.from({ length: 8 }, (_, i) => 1000 + 50 * (i + 1)).reduce((a, b) => a + b, 0);
    expect(uncachedPromptTokens(s)).toBe(prompts - cached);
    const text = renderLlamaCpp(s, 16);
    expect(text).toContain(`llamacpp:prompt_tokens_total ${prompts - cached}\n`);
    expect(text).toContain(`llamacpp:prompt_tokens_cached_total ${cached}\n`);
    expect(text).toContain('llamacpp:requests_processing 0\n');
    expect(text).toContain('llamacpp:requests_deferred 0\n');
    expect(text).toMatch(/^llamacpp:kv_cache_usage_ratio 0\.\d+$/m);
  });

  it('a request longer than one slot is refused: each slot has its share of the context', () => {
    const cfg = engineConfig(PROFILE);
    expect(contextLimit(cfg)).toBe(cfg.capacityTokens / cfg.maxNumSeqs);
    expect(new Engine(cfg).validate({ promptTokens: contextLimit(cfg), maxTokens: 1 })).toMatch(/maximum context length/);
  });

  it('commonPrefix of chained hashes and the slot choice', () => {
    expect(commonPrefix([1, 2, 3, 4], [1, 2, 9])).toBe(2);
    expect(commonPrefix([], [1])).toBe(0);
    expect(commonPrefix([5, 6], [5, 6, 7])).toBe(2);
    const slots = new SlotCache(2, 0.1);
    const a = slots.choose([1, 2, 3], 3, 3)!;
    slots.take(a);
    slots.release(a.slot, [1, 2, 3, 4], 4);
    expect(slots.choose([1, 2, 3, 8], 4, 3)).toEqual({ slot: a.slot, blocks: 3 });
    slots.take({ slot: 0, blocks: 0 });
    slots.take({ slot: 1, blocks: 0 });
    expect(slots.choose([1], 1, 1)).toBeUndefined();
  });
});
