import { describe, it, expect } from 'vitest';
import { CompletionStreamObserver, SseParser, summariseCompletionBody, type SseEvent } from '../../../src/stream/sse.ts';

const enc = new TextEncoder();
const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const delta = (content: string, finish: string | null = null) => ({ choices: [{ index: 0, delta: { content }, finish_reason: finish }] });

function parseAll(pieces: (string | Uint8Array)[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (const x of pieces) p.push(x, (e) => out.push(e));
  p.end((e) => out.push(e));
  return out;
}

describe('SseParser', () => {
  it('handles \\n, \\r\\n and \\r line ends, comments, multi-line data and event names', () => {
    const events = parseAll([': keepalive\n\nevent: ping\ndata: a\r\ndata: b\r\n\r\ndata: c\r\rdata:d\n\n']);
    expect(events).toEqual([{ event: 'ping', data: 'a\nb' }, { event: '', data: 'c' }, { event: '', data: 'd' }]);
  });

  it('reassembles events split at every byte, including a UTF-8 character and a \\r\\n split across chunks', () => {
    const bytes = enc.encode('data: héllo 🌍\r\n\r\ndata: [DONE]\r\n\r\n');
    const pieces = Array.from(bytes, (b) => new Uint8Array([b]));
    expect(parseAll(pieces)).toEqual([{ event: '', data: 'héllo 🌍' }, { event: '', data: '[DONE]' }]);
  });

  it('dispatches a final event that lacks its blank line at end of stream', () => {
    expect(parseAll(['data: x'])).toEqual([{ event: '', data: 'x' }]);
  });
});

describe('CompletionStreamObserver', () => {
  it('measures TTFT at the first output event, collects text, finish_reason and usage', () => {
    const o = new CompletionStreamObserver({ startedAt: 1000, collectText: true });
    o.push(enc.encode(chunk({ choices: [{ index: 0, delta: { role: 'assistant' } }] })), 1010);
    o.push(enc.encode(chunk(delta('Hello'))), 1050);
    o.push(enc.encode(chunk(delta(' world', 'stop')) + chunk({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 4 } } })), 1070);
    o.push('data: [DONE]\n\n', 1080);
    const s = o.end(1081);
    expect(s).toMatchObject({ ttftMs: 50, firstByteMs: 10, events: 4, done: true, finishReason: 'stop', text: 'Hello world', textTruncated: false, error: null });
    expect(s.usage).toEqual({ promptTokens: 7, completionTokens: 2, cachedTokens: 4 });
  });

  it('counts tool-call deltas as output and caps collected text', () => {
    const o = new CompletionStreamObserver({ startedAt: 0, collectText: true, maxTextChars: 5 });
    o.push(chunk({ choices: [{ index: 0, delta: { tool_calls: [{ function: { name: 'get', arguments: '{"a":1}' } }] } }] }), 3);
    const s = o.end(4);
    expect(s.ttftMs).toBe(3);
    expect(s.text).toBe('get{"');
    expect(s.textTruncated).toBe(true);
  });

  it('reports an in-stream error and a missing [DONE]', () => {
    const o = new CompletionStreamObserver({ startedAt: 0 });
    o.push(chunk({ error: { message: 'overloaded' } }), 1);
    const s = o.end(2);
    expect(s.error).toBe('overloaded');
    expect(s.done).toBe(false);
    expect(s.text).toBe(''); // not collected unless asked
  });
});

describe('summariseCompletionBody', () => {
  it('reads message content, finish_reason and usage', () => {
    const s = summariseCompletionBody(JSON.stringify({ choices: [{ index: 0, message: { content: 'hi' }, finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: 1 } }));
    expect(s).toMatchObject({ text: 'hi', finishReason: 'length', usage: { promptTokens: 3, completionTokens: 1, cachedTokens: 0 }, error: null });
  });
  it('reports a non-JSON body and an error object', () => {
    expect(summariseCompletionBody('<html>').error).toBe('response body is not JSON');
    expect(summariseCompletionBody('{"error":{"message":"bad model"}}').error).toBe('bad model');
  });
});

describe('tap fast path', () => {
  it('skips parsing plain content chunks after TTFT but still sees finish_reason, usage and errors', () => {
    const o = new CompletionStreamObserver({ startedAt: 0 });
    o.push(chunk(delta('a')), 5);
    o.push(chunk(delta('b')), 6);
    o.push(`data: {"choices":[{"index":0,"delta":{},"finish_reason": "length"}],"usage":null}\n\n`, 7);
    o.push(`data: {"choices":[],"usage" : {"prompt_tokens":3,"completion_tokens":2}}\n\n`, 8);
    o.push(`data: {"error": {"message":"late failure"}}\n\n`, 9);
    const s = o.end(10);
    expect(s).toMatchObject({ ttftMs: 5, finishReason: 'length', usage: { promptTokens: 3, completionTokens: 2, cachedTokens: 0 }, error: 'late failure', events: 5 });
  });
});
