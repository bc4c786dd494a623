// Which lines end a relayed stream: `data: [DONE]` for chat/completions, the terminal event for the Responses API.
import { describe, expect, it } from 'vitest';
import { inferenceEndpoints } from '../../../src/api/openai-api.ts';
import { EndLineDetector } from '../../../src/stream/end-lines.ts';
import { SseRelay, type StreamOutcome } from '../../../src/stream/relay.ts';
import { errorIn } from '../../helpers/responses.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

function relayOf(chunks: string[], endLines?: readonly string[]) {
  const outcomes: StreamOutcome[] = [];
  let i = 1;
  const upstream = { read: async () => (i < chunks.length ? enc.encode(chunks[i++]) : null), cancel() {} };
  const r = new SseRelay(enc.encode(chunks[0]), upstream, { idleMs: 1_000, onEnd: (o) => outcomes.push(o), ...(endLines ? { endLines } : {}) });
  return { r, outcomes };
}

async function drain(r: SseRelay): Promise<string> {
  let out = '';
  for (let c = await r.next(); c; c = await r.next()) out += dec.decode(c);
  return out;
}

const RESPONSES = inferenceEndpoints.responses.endLines;
const event = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ ...data, type })}\n\n`;
const delta = (text: string) => event('response.output_text.delta', { delta: text, sequence_number: 3 });

describe('relay end lines', () => {
  it('a Responses stream that ends with response.completed (no [DONE]) is complete and relayed unchanged', async () => {
    const chunks = [event('response.created', { sequence_number: 0 }), delta('Hi'), event('response.completed', { response: { status: 'completed' } })];
    const { r, outcomes } = relayOf(chunks, RESPONSES);
    expect(await drain(r)).toBe(chunks.join(''));
    expect(outcomes).toEqual(['completed']);
  });

  it('response.incomplete and response.failed end a Responses stream too; a data-only server is understood', async () => {
    for (const type of ['response.incomplete', 'response.failed']) {
      const { r, outcomes } = relayOf([delta('x'), event(type, {})], RESPONSES);
      await drain(r);
      expect(outcomes).toEqual(['completed']);
    }
    const { r, outcomes } = relayOf([`data: ${JSON.stringify({ type: 'response.completed', response: {} })}\n\n`], RESPONSES);
    await drain(r);
    expect(outcomes).toEqual(['completed']);
  });

  it('a Responses stream cut before its terminal event is truncated, with a final error event', async () => {
    const { r, outcomes } = relayOf([event('response.created', {}), delta('Hel')], RESPONSES);
    const out = await drain(r);
    expect(outcomes).toEqual(['truncated']);
    expect(errorIn(JSON.parse(out.trim().split('\n').pop()!.slice('data: '.length))).code).toBe('upstream_stream_truncated');
  });

  it('user text that contains the marker words does not end a stream', async () => {
    // JSON-escaped data lines never start with the marker: the words sit inside a string.
    const chat = relayOf([`data: ${JSON.stringify({ choices: [{ delta: { content: 'see:\ndata: [DONE]' } }] })}\n\n`, `data: ${JSON.stringify({ choices: [{ delta: { content: 'data: [DONE]' } }] })}\n\n`]);
    await drain(chat.r);
    expect(chat.outcomes).toEqual(['truncated']);
    const responses = relayOf([delta('\nevent: response.completed\ndata: {"type":"response.completed"}'), delta('event: response.completed')], RESPONSES);
    await drain(responses.r);
    expect(responses.outcomes).toEqual(['truncated']);
  });

  it('a marker split across chunks (even byte by byte, with CRLF line ends) is seen', async () => {
    const text = 'data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n';
    const { r, outcomes } = relayOf([...text]);
    expect(await drain(r)).toBe(text);
    expect(outcomes).toEqual(['completed']);
    const resp = event('response.output_text.delta', { delta: 'y' }) + event('response.completed', { response: {} });
    const split = relayOf([resp.slice(0, 90), resp.slice(90, 97), resp.slice(97)], RESPONSES);
    await drain(split.r);
    expect(split.outcomes).toEqual(['completed']);
  });

  it('the default stays data: [DONE], also without a final newline', async () => {
    const { r, outcomes } = relayOf(['data: {"a":1}\n\n', 'data: [DONE]']);
    await drain(r);
    expect(outcomes).toEqual(['completed']);
  });
});

describe('EndLineDetector', () => {
  it('matches only at line starts, across every split point', () => {
    const stream = 'event: response.output_text.delta\ndata: {"delta":"event: response.completed"}\n\nevent: response.completed\ndata: {}\n\n';
    const cut = stream.indexOf('event: response.completed\ndata: {}');
    for (let at = 1; at < stream.length; at++) {
      const d = new EndLineDetector(RESPONSES);
      d.push(enc.encode(stream.slice(0, at)));
      expect(d.seen).toBe(at >= cut + 'event: response.completed'.length);
      d.push(enc.encode(stream.slice(at)));
      expect(d.seen).toBe(true);
    }
  });

  it('no markers: any clean close completes', () => {
    expect(new EndLineDetector([]).seen).toBe(true);
  });
});
