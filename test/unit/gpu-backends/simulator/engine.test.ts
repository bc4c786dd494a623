import { describe, expect, it } from 'vitest';
import { Engine } from '../../../../gpu-backends/simulator/engine.ts';
import { engineConfig } from '../../../../gpu-backends/simulator/profiles.ts';
import { promptBlockHashes } from '../../../../gpu-backends/simulator/tokenizer.ts';
import { finished, firstToken, promptText, request, runToIdle } from './drive.ts';

describe('engine: prefix caching', () => {
  it('a repeated 8k-token prompt hits the cache: TTFT falls and the hit counter rises', () => {
    const engine = new Engine(engineConfig('llama-3.1-8b-h100'));
    const text = promptText(8192, 'doc');
    engine.submit(request('a', text), 0);
    const first = runToIdle(engine);
    const ttft1 = firstToken(first, 'a').time - 0;
    const before = engine.snapshot();
    expect(before.prefixCacheQueries).toBe(8192);
    expect(before.prefixCacheHits).toBe(0);

    const t2 = 10_000;
    engine.submit(request('b', text), t2);
    const second = runToIdle(engine);
    const ttft2 = firstToken(second, 'b').time - t2;
    const after = engine.snapshot();
    // Every full block but the last is reused: vLLM always recomputes the last prompt token.
    expect(firstToken(second, 'b').cachedTokens).toBe(8192 - 16);
    expect(after.prefixCacheHits - before.prefixCacheHits).toBe(8192 - 16);
    expect(ttft2).toBeLessThan(ttft1 / 4);
  });

  it('a shared prefix is reused up to the first differing block only', () => {
    const engine = new Engine();
    const shared = promptText(1024, 'system');
    engine.submit(request('a', shared + promptText(512, 'question-a')), 0);
    runToIdle(engine);
    engine.submit(request('b', shared + promptText(512, 'question-b')), 1000);
    const events = runToIdle(engine);
    expect(firstToken(events, 'b').cachedTokens).toBe(1024);
  });

  it('caches generated blocks too: a next turn that quotes the answer hits them', () => {
    const engine = new Engine();
    const prompt = promptText(320, 'turn1');
    const answer = promptText(100, 'answer');
    const { blockHashes } = promptBlockHashes(prompt + answer);
    engine.submit({ id: 't1', blockHashes, promptTokens: 320, maxTokens: 100 }, 0);
    runToIdle(engine);
    engine.submit(request('t2', prompt + answer + promptText(64, 'turn2')), 10_000);
    expect(firstToken(runToIdle(engine), 't2').cachedTokens).toBe(416); // 26 full blocks of prompt + answer
  });

  it('TTFT grows with the uncached prompt length', () => {
    const ttfts = [1024, 4096, 16384].map((tokens) => {
      const engine = new Engine();
      engine.submit(request('r', promptText(tokens, `len${tokens}`)), 0);
      return firstToken(runToIdle(engine), 'r').time;
    });
    expect(ttfts[0]!).toBeLessThan(ttfts[1]!);
    expect(ttfts[1]!).toBeLessThan(ttfts[2]!);
  });

  it('evicts least-recently-used prefixes under pressure and keeps recent ones', () => {
    // 3 prompts of 1000 tokens fit (62 full blocks each); the 4th forces evictions of the oldest.
    const engine = new Engine(engineConfig(undefined, { capacityTokens: 3200 }));
    const prompts = ['p0', 'p1', 'p2', 'p3'].map((tag) => promptText(1000, tag));
    prompts.forEach((text, i) => {
      engine.submit(request(`w${i}`, text), i * 1000);
      runToIdle(engine);
    });
    expect(engine.snapshot().evictions).toBeGreaterThan(0);
    // The next-oldest prompt is intact; the oldest lost its tail (freed tail first), keeping a short head.
    engine.submit(request('again1', prompts[1]!), 10_000);
    expect(firstToken(runToIdle(engine), 'again1').cachedTokens).toBe(992);
    engine.submit(request('again0', prompts[0]!), 20_000);
    const partial = firstToken(runToIdle(engine), 'again0').cachedTokens;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(992 / 2);
  });

  it('blocks of running requests are never evicted', () => {
    // Two long-running requests hold most of the cache; newcomers must wait instead of evicting them.
    const engine = new Engine(engineConfig(undefined, { capacityTokens: 4096 }));
    engine.submit(request('long-a', promptText(1500, 'a'), 200), 0);
    engine.submit(request('long-b', promptText(1500, 'b'), 200), 0);
    runToIdle(engine, 100);
    engine.submit(request('c', promptText(1500, 'c'), 1), 100);
    const snap = engine.snapshot();
    expect(snap.running).toBe(2);
    expect(snap.waiting).toBe(1);
    const events = runToIdle(engine);
    expect(finished(events, 'long-a').reason).toBe('length');
    expect(finished(events, 'c').time).toBeGreaterThan(finished(events, 'long-a').time);
  });

  it('reset clears the cache and the counters', () => {
    const engine = new Engine();
    const text = promptText(512, 'x');
    engine.submit(request('a', text), 0);
    runToIdle(engine);
    engine.reset();
    expect(engine.snapshot().prefixCacheQueries).toBe(0);
    engine.submit(request('b', text), 1000);
    expect(firstToken(runToIdle(engine), 'b').cachedTokens).toBe(0);
  });

  it('disabling prefix caching turns hits off', () => {
    const engine = new Engine(engineConfig(undefined, { enablePrefixCaching: false }));
    const text = promptText(512, 'x');
    engine.submit(request('a', text), 0);
    runToIdle(engine);
    engine.submit(request('b', text), 1000);
    expect(firstToken(runToIdle(engine), 'b').cachedTokens).toBe(0);
  });
});

describe('engine: continuous batching', () => {
  it('streams one token per step per sequence and finishes with the configured reason', () => {
    const engine = new Engine();
    engine.submit({ ...request('a', promptText(100, 'a'), 5), finishReason: 'stop' }, 0);
    const events = runToIdle(engine);
    expect(events.map((e) => e.kind)).toEqual(['first_token', 'tokens', 'tokens', 'tokens', 'tokens', 'finished']);
    expect(finished(events, 'a').reason).toBe('stop');
    const times = events.filter((e) => e.kind !== 'finished').map((e) => e.time);
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(engine.snapshot().generationTokens).toBe(5);
    expect(engine.snapshot().promptTokens).toBe(100);
  });

  it('chunks a prefill longer than the step token budget over several steps', () => {
    const cfg = engineConfig(undefined, { maxNumBatchedTokens: 2048 });
    const engine = new Engine(cfg);
    engine.submit(request('a', promptText(5000, 'a')), 0);
    runToIdle(engine);
    expect(engine.snapshot().steps).toBe(3);
  });

  it('requests submitted at the same instant share the first step', () => {
    const engine = new Engine();
    engine.submit(request('a', promptText(100, 'a')), 0);
    engine.submit(request('b', promptText(100, 'b')), 0);
    const events = runToIdle(engine);
    expect(firstToken(events, 'a').time).toBe(firstToken(events, 'b').time);
  });

  it('queues beyond max running sequences', () => {
    const engine = new Engine(engineConfig(undefined, { maxNumSeqs: 4 }));
    for (let i = 0; i < 10; i++) engine.submit(request(`r${i}`, promptText(64, `r${i}`), 50), 0);
    engine.nextEventTime();
    expect(engine.snapshot()).toMatchObject({ running: 4, waiting: 6 });
    const events = runToIdle(engine);
    expect(events.filter((e) => e.kind === 'finished')).toHaveLength(10);
  });

  it('decode steps get slower as the batch and its context grow', () => {
    const itl = (n: number) => {
      const engine = new Engine();
      for (let i = 0; i < n; i++) engine.submit(request(`r${i}`, promptText(2000, `r${i}`), 20), 0);
      const events = runToIdle(engine);
      const a = events.filter((e) => e.id === 'r0' && e.kind !== 'finished').map((e) => e.time);
      return (a[a.length - 1]! - a[0]!) / (a.length - 1);
    };
    expect(itl(1)).toBeLessThan(itl(64));
  });

  it('past saturation the waiting count rises and throughput stays flat', () => {
    // Open-loop arrivals at increasing rates; a saturated engine's token throughput plateaus.
    const measure = (ratePerSec: number) => {
      const engine = new Engine();
      const duration = 60_000;
      const gap = 1000 / ratePerSec;
      let generated = 0;
      let id = 0;
      for (let t = 0; t < duration; t += gap) {
        for (const e of engine.advanceTo(t)) if (e.kind !== 'finished') generated += e.kind === 'tokens' ? e.count : 1;
        engine.submit(request(`r${id}`, promptText(1024, `r${id++}`), 256), t);
      }
      for (const e of engine.advanceTo(duration)) if (e.kind !== 'finished') generated += e.kind === 'tokens' ? e.count : 1;
      return { throughput: generated / (duration / 1000), waiting: engine.snapshot().waiting };
    };
    const low = measure(2);
    const sat = measure(40);
    const over = measure(80);
    expect(low.waiting).toBe(0);
    expect(over.waiting).toBeGreaterThan(sat.waiting);
    expect(over.waiting).toBeGreaterThan(100);
    expect(Math.abs(over.throughput - sat.throughput) / sat.throughput).toBeLessThan(0.1);
    expect(sat.throughput).toBeGreaterThan(low.throughput * 5);
  });
});

describe('engine: lifecycle', () => {
  it('abort frees a running request and reports it', () => {
    const engine = new Engine();
    engine.submit(request('a', promptText(1000, 'a'), 1000), 0);
    runToIdle(engine, 200);
    engine.abort('a', 200);
    const events = engine.advanceTo(200);
    expect(finished(events, 'a')).toMatchObject({ reason: 'abort', time: 200 });
    expect(engine.snapshot()).toMatchObject({ running: 0, usedBlocks: 0 });
    runToIdle(engine); // the step already on the GPU completes, with nothing left to emit
    expect(engine.nextEventTime()).toBeUndefined();
    expect(engine.advanceTo(10_000)).toEqual([]);
  });

  it('abort removes a waiting request', () => {
    const engine = new Engine(engineConfig(undefined, { maxNumSeqs: 1 }));
    engine.submit(request('a', promptText(100, 'a'), 100), 0);
    engine.submit(request('b', promptText(100, 'b'), 100), 0);
    engine.abort('b', 1);
    const events = runToIdle(engine);
    expect(finished(events, 'b').reason).toBe('abort');
    expect(events.some((e) => e.id === 'b' && e.kind === 'first_token')).toBe(false);
  });

  it('preempts the newest request when decoding runs out of KV blocks, and still finishes everything', () => {
    // 1024 tokens of KV: two 400-token prompts fit, but both cannot also generate 300 tokens.
    const engine = new Engine(engineConfig(undefined, { capacityTokens: 1024 }));
    engine.submit(request('a', promptText(400, 'a'), 300), 0);
    engine.submit(request('b', promptText(400, 'b'), 300), 0);
    const events = runToIdle(engine);
    expect(engine.snapshot().preemptions).toBeGreaterThan(0);
    expect(finished(events, 'a').reason).toBe('length');
    expect(finished(events, 'b').reason).toBe('length');
    expect(events.filter((e) => e.id === 'b' && e.kind === 'tokens')).toHaveLength(299);
    expect(engine.snapshot().usedBlocks).toBe(0);
  });

  it('rejects prompts beyond the model length', () => {
    const engine = new Engine(engineConfig(undefined, { maxModelLen: 1000 }));
    expect(engine.validate({ promptTokens: 990, maxTokens: 20 })).toMatch(/maximum context length is 1000/);
    expect(() => engine.submit(request('a', promptText(990, 'a'), 20), 0)).toThrow();
  });

  it('is deterministic', () => {
    const run = () => {
      const engine = new Engine();
      for (let i = 0; i < 20; i++) engine.submit(request(`r${i}`, promptText(300 + i * 50, `r${i % 3}`), 10 + i), i * 7);
      return runToIdle(engine);
    };
    expect(run()).toEqual(run());
  });

  it('slowdown stretches steps', () => {
    const time = (factor: number) => {
      const engine = new Engine();
      engine.setSlowdown(factor);
      engine.submit(request('a', promptText(100, 'a'), 10), 0);
      return finished(runToIdle(engine), 'a').time;
    };
    expect(time(3)).toBeCloseTo(time(1) * 3, 6);
  });
});
