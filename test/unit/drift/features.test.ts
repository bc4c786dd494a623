import { describe, expect, it } from 'vitest';
import { extractFeatures, scriptClass, temperatureClass, maxTokensClass } from '../../../src/drift/features.ts';
import { observationFromRecord, usageAndFinish } from '../../../src/drift/from-record.ts';

describe('extractFeatures', () => {
  const body = {
    model: 'm',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Hello there' }, { type: 'image_url', image_url: { url: 'x' } }] },
    ],
    max_tokens: 300,
    temperature: 0.73,
    tools: [{ type: 'function', function: { name: 'f' } }],
    response_format: { type: 'json_schema', json_schema: {} },
    stream: true,
  };

  it('reads the request and the response observation', () => {
    const v = extractFeatures(body, { status: 200, usage: { prompt_tokens: 12, completion_tokens: 40 }, finishReason: 'stop', ttftMs: 100, latencyMs: 2100 });
    expect(v.numeric).toEqual({ prompt_chars: 'Be brief.\nHello there'.length, messages: 2, prompt_tokens: 12, completion_tokens: 40, ttft_ms: 100, latency_ms: 2100, output_tps: 20 });
    expect(v.categorical).toEqual({ max_tokens: '<=512', temperature: '0.7', system_prompt: 'yes', tools: 'yes', response_format: 'json_schema', stream: 'yes', script: 'latin', finish_reason: 'stop', error_class: 'ok' });
    expect(v.promptText).toBe('Be brief.\nHello there');
  });

  it('leaves unobserved numeric features out and classifies errors', () => {
    const v = extractFeatures({ model: 'm', prompt: 'abc' }, { status: 429, latencyMs: 5 });
    expect(v.numeric).toEqual({ prompt_chars: 3, messages: 1, latency_ms: 5 });
    expect(v.categorical.error_class).toBe('rate_limited');
    expect(v.categorical.finish_reason).toBe('none');
    expect(v.categorical.max_tokens).toBe('unset');
    expect(extractFeatures({}, { status: 0, failure: 'timeout' }).categorical.error_class).toBe('timeout');
    expect(extractFeatures({}, { status: 503 }).categorical.error_class).toBe('upstream_error');
    expect(extractFeatures({}, { status: 200, finishReason: 'weird' }).categorical.finish_reason).toBe('other');
  });

  it('buckets max_tokens and temperature into closed vocabularies', () => {
    expect([maxTokensClass(1), maxTokensClass(256), maxTokensClass(257), maxTokensClass(100000), maxTokensClass('x')]).toEqual(['<=256', '<=256', '<=512', '>16384', 'unset']);
    expect([temperatureClass(0), temperatureClass(0.75), temperatureClass(5), temperatureClass(undefined)]).toEqual(['0.0', '0.8', '2.0', 'unset']);
  });

  it('classifies the dominant script', () => {
    expect(scriptClass('Hello, world')).toBe('latin');
    expect(scriptClass('Привет, как дела?')).toBe('cyrillic');
    expect(scriptClass('你好，世界，今天天气很好')).toBe('han');
    expect(scriptClass('こんにちは、元気ですか')).toBe('kana');
    expect(scriptClass('안녕하세요')).toBe('hangul');
    expect(scriptClass('مرحبا بالعالم')).toBe('arabic');
    expect(scriptClass('12345 !!!')).toBe('none');
    expect(scriptClass('abc где')).toBe('mixed');
  });
});

describe('reading usage from the router record', () => {
  it('parses a buffered JSON response', () => {
    const text = JSON.stringify({ choices: [{ finish_reason: 'length' }], usage: { prompt_tokens: 5, completion_tokens: 9 } });
    expect(usageAndFinish(text)).toEqual({ usage: { promptTokens: 5, completionTokens: 9, cachedTokens: 0 }, finishReason: 'length' });
  });
  it('parses the tail of an SSE stream, skipping a partial first line', () => {
    const tail = 'tial":1}\n\ndata: {"choices":[{"delta":{"content":"x"},"finish_reason":null}]}\n\ndata: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}\n\ndata: [DONE]\n\n';
    expect(usageAndFinish(tail)).toEqual({ usage: { promptTokens: 3, completionTokens: 4, cachedTokens: 0 }, finishReason: 'stop' });
  });
  it('maps stream outcomes to failure classes', () => {
    const rec = { samplingId: 'r', tenantId: 't', model: 'm', body: {}, status: 200, ttftMs: 5, latencyMs: 50, outcome: 'idle_timeout', responseText: '' };
    expect(observationFromRecord(rec)).toMatchObject({ status: 200, failure: 'timeout', ttftMs: 5, latencyMs: 50 });
  });
});
