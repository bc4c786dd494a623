// Analytics and drift read usage from Responses API answers (body and stream) as they do from chat completions.
import { describe, expect, it } from 'vitest';
import { usageAndFinish } from '../../../src/drift/from-record.ts';
import { CompletionStreamObserver, summariseCompletionBody } from '../../../src/stream/sse.ts';

const usage = { input_tokens: 120, input_tokens_details: { cached_tokens: 64 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 129 };
const response = (status: string, text: string, extra: object = {}) => ({
  id: 'resp_1', created_at: 1, incomplete_details: null, instructions: null, model: 'm', object: 'response',
  output: [{ id: 'msg_1', content: [{ annotations: [], text, type: 'output_text' }], role: 'assistant', status: 'completed', type: 'message' }],
  status, usage, user: null, ...extra,
});
const sse = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ ...data, type })}\n\n`;

describe('Responses usage for analytics and drift', () => {
  it('reads usage and the finish reason from a Responses body', () => {
    const body = JSON.stringify(response('completed', 'Hello'));
    expect(usageAndFinish(body)).toEqual({ usage: { promptTokens: 120, completionTokens: 9, cachedTokens: 64 }, finishReason: 'stop' });
    const cut = JSON.stringify(response('incomplete', 'Hel', { incomplete_details: { reason: 'max_output_tokens' } }));
    expect(usageAndFinish(cut).finishReason).toBe('length');
    expect(summariseCompletionBody(body).usage).toEqual({ promptTokens: 120, completionTokens: 9, cachedTokens: 64 });
  });

  it('reads them from the terminal event of a stream, also when the kept tail cut that event', () => {
    const created = sse('response.created', { response: { ...response('in_progress', ''), usage: null }, sequence_number: 0 });
    const completed = sse('response.completed', { response: response('completed', 'x'.repeat(20_000) + '"usage":{"input_tokens":1}'), sequence_number: 9 });
    const stream = created + sse('response.output_text.delta', { delta: 'x', sequence_number: 1 }) + completed;
    const whole = usageAndFinish(stream);
    expect(whole.usage).toEqual({ promptTokens: 120, completionTokens: 9, cachedTokens: 64 });
    expect(whole.finishReason).toBe('stop');
    // The record keeps the last 8k characters: the terminal event's start (and its JSON) is gone.
    const tail = stream.slice(-8192);
    expect(usageAndFinish(tail).usage).toEqual({ promptTokens: 120, completionTokens: 9, cachedTokens: 64 });
    // A tail cut inside the usage object reads nothing rather than a wrong value.
    const inUsage = stream.slice(0, stream.lastIndexOf('"output_tokens"'));
    expect(usageAndFinish(inUsage).usage).toBeUndefined();
  });

  it('the stream observer (shadow comparison, primary legs) reads Responses usage', () => {
    const o = new CompletionStreamObserver({ startedAt: 0 });
    o.push(sse('response.completed', { response: response('completed', 'hi'), sequence_number: 5 }), 1);
    expect(o.end(2).usage).toEqual({ promptTokens: 120, completionTokens: 9, cachedTokens: 64 });
  });

  it('chat usage is read as before', () => {
    const chat = JSON.stringify({ choices: [{ finish_reason: 'length', message: { content: 'x' } }], usage: { prompt_tokens: 3, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 1 } } });
    expect(usageAndFinish(chat)).toEqual({ usage: { promptTokens: 3, completionTokens: 2, cachedTokens: 1 }, finishReason: 'length' });
  });
});
