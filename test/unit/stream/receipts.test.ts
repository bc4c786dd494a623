// Cache receipts: the cached-token count of every response, read through the answering engine's adapter from a
// JSON body or an SSE stream (chat, completions, Responses API), sanitised as usage is, and carried by the request
// event's prompt_tokens / cached_tokens columns.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adapterFor, type EngineKind } from '../../../gpu-backends/adapters/index.ts';
import { analyticsEventSchema } from '../../../src/analytics/event.ts';
import { defaultDriftConfig } from '../../../src/config/drift.ts';
import type { RequestRecord } from '../../../src/core/inference.ts';
import { requestEventOf } from '../../../src/core/request-event.ts';
import { usageAndFinish } from '../../../src/drift/from-record.ts';
import { completionFacts, MAX_TOKEN_COUNT, receiptOf } from '../../../src/stream/completion-facts.ts';
import { CompletionStreamObserver, summariseCompletionBody } from '../../../src/stream/sse.ts';
import { lastValuesWin } from './helpers.ts';

const fixture = (name: string) => readFileSync(new URL(`../gpu-backends/adapters/fixtures/${name}`, import.meta.url), 'utf8');
const sse = (...msgs: object[]) => msgs.map((m) => `data: ${JSON.stringify(m)}\n\n`).join('') + 'data: [DONE]\n\n';
const vllm = adapterFor('vllm');
const llama = adapterFor('llama-cpp');

// vLLM with --enable-prompt-tokens-details (SGLang and OpenAI answer the same way).
const vllmChat = JSON.stringify({
  id: 'chatcmpl-1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1040, total_tokens: 1045, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 1024 } },
});
const vllmCompletion = JSON.stringify({
  id: 'cmpl-1', object: 'text_completion', model: 'm', choices: [{ index: 0, text: 'hi', finish_reason: 'length' }],
  usage: { prompt_tokens: 48, total_tokens: 52, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 32 } },
});
// SGLang with stream_options.include_usage: usage in a last chunk without choices.
const sglangStream = sse(
  { id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] },
  { id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
  { id: 'x', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 900, completion_tokens: 2, total_tokens: 902, prompt_tokens_details: { cached_tokens: 850 } } },
);
const responsesUsage = { input_tokens: 120, input_tokens_details: { cached_tokens: 64 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 129 };
const responsesBody = JSON.stringify({ id: 'resp_1', object: 'response', status: 'completed', output: [], usage: responsesUsage });

describe('receipts from every engine shape', () => {
  const cases: [string, EngineKind, string, { promptTokens: number; cachedTokens: number }][] = [
    ['vLLM chat JSON', 'vllm', vllmChat, { promptTokens: 1040, cachedTokens: 1024 }],
    ['vLLM completions JSON', 'vllm', vllmCompletion, { promptTokens: 48, cachedTokens: 32 }],
    ['SGLang chat stream (usage chunk)', 'sglang', sglangStream, { promptTokens: 900, cachedTokens: 850 }],
    ['Responses API body', 'vllm', responsesBody, { promptTokens: 120, cachedTokens: 64 }],
    ['llama.cpp chat JSON, timings only (older build)', 'llama-cpp', fixture('llamacpp-chat-b4500.json'), { promptTokens: 1615, cachedTokens: 1600 }],
    ['llama.cpp chat JSON, usage details and timings', 'llama-cpp', fixture('llamacpp-chat-current.json'), { promptTokens: 1615, cachedTokens: 1536 }],
    ['llama.cpp chat stream: timings in the last chunk, no usage', 'llama-cpp', fixture('llamacpp-chat-stream-b4500.sse'), { promptTokens: 1615, cachedTokens: 1600 }],
    ['llama.cpp completions stream', 'llama-cpp', fixture('llamacpp-completions-stream-current.sse'), { promptTokens: 600, cachedTokens: 512 }],
    ['llama-server configured as openai-compatible', 'openai-compatible', fixture('llamacpp-chat-stream-b4500.sse'), { promptTokens: 1615, cachedTokens: 1600 }],
  ];
  for (const [what, kind, text, receipt] of cases) {
    it(`${what} (record path)`, () => {
      expect(usageAndFinish(text, adapterFor(kind)).receipt).toEqual(receipt);
    });
    it(`${what} (stream observer / body summary)`, () => {
      if (text.startsWith('data:')) {
        const o = new CompletionStreamObserver({ startedAt: 0, receipts: adapterFor(kind) });
        // Fed in small pieces, as a stream arrives.
        for (let i = 0; i < text.length; i += 37) o.push(text.slice(i, i + 37), i);
        expect(o.end(text.length).receipt).toEqual(receipt);
      } else expect(summariseCompletionBody(text, undefined, adapterFor(kind)).receipt).toEqual(receipt);
    });
  }

  it('the Responses stream whose kept tail cut its terminal event still gives its receipt', () => {
    const completed = `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: { id: 'r', object: 'response', status: 'completed', output: [{ text: 'x'.repeat(20_000) }], usage: responsesUsage } })}\n\n`;
    expect(usageAndFinish(completed.slice(-8192), vllm).receipt).toEqual({ promptTokens: 120, cachedTokens: 64 });
  });

  it('no receipt where the engine states no cached tokens (vLLM without --enable-prompt-tokens-details, TGI)', () => {
    const plain = JSON.stringify({ choices: [{ index: 0, message: { content: 'x' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: null } });
    expect(usageAndFinish(plain, vllm)).toEqual({ usage: { promptTokens: 10, completionTokens: 1, cachedTokens: 0 }, finishReason: 'stop' });
    expect(usageAndFinish(plain, adapterFor('tgi')).receipt).toBeUndefined();
  });

  it('the stream observer\'s fast path still parses a late chunk that carries only timings', () => {
    const o = new CompletionStreamObserver({ startedAt: 0, receipts: llama });
    o.push(sse({ choices: [{ index: 0, delta: { content: 'a' } }] }, { choices: [{ index: 0, delta: { content: 'b' } }] }, { choices: [], timings: { cache_n: 7, prompt_n: 3 } }), 1);
    expect(o.end(2).receipt).toEqual({ promptTokens: 10, cachedTokens: 7 });
  });
});

describe('receipts are sanitised as usage is', () => {
  it('counts are rounded and clamped; cached never exceeds the prompt', () => {
    expect(receiptOf({ promptTokens: 100.4, cachedTokens: 60.6 })).toEqual({ promptTokens: 100, cachedTokens: 61 });
    expect(receiptOf({ promptTokens: '100', cachedTokens: '40' })).toEqual({ promptTokens: 100, cachedTokens: 40 });
    expect(receiptOf({ promptTokens: 100, cachedTokens: 5000 })).toEqual({ promptTokens: 100, cachedTokens: 100 });
    expect(receiptOf({ promptTokens: 1e300, cachedTokens: 1e300 })).toEqual({ promptTokens: MAX_TOKEN_COUNT, cachedTokens: MAX_TOKEN_COUNT });
  });

  it('a value that is not a count makes no receipt (never a false "nothing was cached")', () => {
    for (const bad of [-5, { a: 1 }, [3], NaN, Infinity, '12abc', null, true, undefined]) {
      expect(receiptOf({ promptTokens: 100, cachedTokens: bad }), inspect(bad)).toBeNull();
      expect(receiptOf({ promptTokens: bad, cachedTokens: 10 }), inspect(bad)).toBeNull();
    }
    expect(receiptOf({ promptTokens: 0, cachedTokens: 0 })).toBeNull();
  });

  it('poisoned usage details and timings through the one reader', () => {
    expect(completionFacts({ usage: { prompt_tokens: 10, prompt_tokens_details: { cached_tokens: -3 } } }, vllm).receipt).toBeNull();
    expect(completionFacts({ timings: { cache_n: 'x', prompt_n: 3 } }, llama).receipt).toBeNull();
    expect(completionFacts({ timings: { cache_n: 2e12, prompt_n: 3 } }, llama).receipt).toEqual({ promptTokens: MAX_TOKEN_COUNT, cachedTokens: MAX_TOKEN_COUNT });
    expect(completionFacts({ usage: { prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 4 } } }).receipt).toBeNull(); // no adapter, no receipt
  });
});

describe('the request event carries the receipt', () => {
  const record = (responseText: string, engine: EngineKind): RequestRecord =>
    ({
      requestId: 'r1', samplingId: 's1', tenantId: 't', keyId: 'k', kind: 'chat', model: 'm', body: { model: 'm', messages: [] }, stream: true, status: 200,
      attempts: [], experiment: '', arm: '', shadowed: false, drift: defaultDriftConfig, startedAt: 0, ttftMs: 5, latencyMs: 9, overheadMs: 1, outcome: 'completed', responseText,
      decision: { pool: 'p', backend: { id: 'b0', url: 'http://b0', engine, adapter: adapterFor(engine), weight: 1, maxConcurrency: 0, authorization: null }, policy: 'round-robin', reason: 'rr', attempt: 1, inflightSeen: 0, prefixBlocks: 0 },
    }) as unknown as RequestRecord;

  it('from llama.cpp timings, where usage alone would have said nothing about the cache', () => {
    const e = requestEventOf(record(fixture('llamacpp-chat-stream-b4500.sse'), 'llama-cpp'), 1_000, 0);
    expect(e).toMatchObject({ prompt_tokens: 1615, cached_tokens: 1600, backend: 'b0' });
    expect(analyticsEventSchema.safeParse(e).success).toBe(true);
  });

  it('from usage details, and usage alone where the engine states no cache', () => {
    expect(requestEventOf(record(vllmChat, 'vllm'), 1_000, 0)).toMatchObject({ prompt_tokens: 1040, cached_tokens: 1024, completion_tokens: 5 });
    const plain = JSON.stringify({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 1 } });
    expect(requestEventOf(record(plain, 'tgi'), 1_000, 0)).toMatchObject({ prompt_tokens: 10, cached_tokens: 0 });
  });
});

describe('usageAndFinish reads an SSE tail from its end', () => {
  const usage = fc.option(fc.record({ prompt_tokens: fc.nat(5000), completion_tokens: fc.nat(500), prompt_tokens_details: fc.option(fc.record({ cached_tokens: fc.nat(5000) })) }));
  const chunk = fc.record({
    choices: fc.array(fc.record({ index: fc.constant(0), delta: fc.record({ content: fc.string() }), finish_reason: fc.option(fc.constantFrom('stop', 'length', 'tool_calls')) }), { maxLength: 1 }),
    usage,
  });

  it('gives what reading every event in order gives, with and without an engine adapter', () => {
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 40 }), fc.nat(200), fc.constantFrom(undefined, 'vllm', 'llama-cpp', 'tgi'), (chunks, cut, kind) => {
        // A kept tail may start in the middle of an event.
        const text = sse(...chunks).slice(cut);
        const reader = kind ? adapterFor(kind) : undefined;
        expect(usageAndFinish(text, reader)).toEqual(JSON.parse(JSON.stringify(lastValuesWin(text, reader))));
      }),
      { numRuns: 500 },
    );
  });
});

it('a stream tail cut right after `data:` still gives its usage (it starts like a JSON body but is not one)', () => {
  const text = sse({ choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] }, { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 2 } });
  const tail = text.slice(text.indexOf('data:') + 'data:'.length);
  expect(tail.trimStart().startsWith('{')).toBe(true);
  expect(usageAndFinish(tail)).toEqual({ usage: { promptTokens: 7, completionTokens: 2, cachedTokens: 0 }, finishReason: 'stop' });
});
