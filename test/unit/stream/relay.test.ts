import { describe, expect, it } from 'vitest';
import { SseRelay, type StreamOutcome } from '../../../src/stream/relay.ts';
import type { BodyReader } from '../../../src/upstream/types.ts';
import { errorIn } from '../../helpers/responses.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A body that yields the given steps: a string chunk, an Error to throw, or the string 'stall' to never resolve. */
function body(steps: (string | Error)[]): BodyReader & { cancelled: boolean } {
  let i = 0;
  const b = {
    cancelled: false,
    async read() {
      const s = steps[i++];
      if (s === undefined) return null;
      if (s === 'stall') return new Promise<Uint8Array | null>(() => {});
      if (s instanceof Error) throw s;
      return enc.encode(s);
    },
    cancel() {
      b.cancelled = true;
    },
  };
  return b;
}

async function drain(r: SseRelay): Promise<string> {
  let out = '';
  for (;;) {
    const c = await r.next();
    if (!c) return out;
    out += dec.decode(c);
  }
}

function relay(first: string, steps: (string | Error)[], idleMs = 50) {
  const outcomes: StreamOutcome[] = [];
  const upstream = body(steps);
  const r = new SseRelay(enc.encode(first), upstream, { idleMs, onEnd: (o) => outcomes.push(o) });
  return { r, outcomes, upstream };
}

describe('SSE relay', () => {
  it('passes chunks through unchanged and completes on [DONE]', async () => {
    const { r, outcomes } = relay('data: {"a":1}\n\n', ['data: {"a":2}\n\n', 'data: [DO', 'NE]\n\n']);
    expect(await drain(r)).toBe('data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n');
    expect(outcomes).toEqual(['completed']);
  });

  it('ends a stream that closes without [DONE] with an error event', async () => {
    const { r, outcomes } = relay('data: {"a":1}\n\n', []);
    const out = await drain(r);
    const last = errorIn(JSON.parse(out.trim().split('\n\n').pop()!.slice('data: '.length)));
    expect(last.code).toBe('upstream_stream_truncated');
    expect(outcomes).toEqual(['truncated']);
  });

  it('turns a mid-stream failure into one final error event and stops', async () => {
    const { r, outcomes, upstream } = relay('data: {"a":1}\n\n', [new Error('socket hang up')]);
    const out = await drain(r);
    expect(out).toMatch(/"code":"upstream_stream_error"/);
    expect(outcomes).toEqual(['upstream_error']);
    expect(upstream.cancelled).toBe(true);
  });

  it('times out a stalled stream with an error event', async () => {
    const { r, outcomes } = relay('data: {"a":1}\n\n', ['stall'], 20);
    const out = await drain(r);
    expect(out).toMatch(/"code":"upstream_stream_timeout"/);
    expect(outcomes).toEqual(['idle_timeout']);
  });

  it('cancels the upstream when the client goes away', async () => {
    const { r, outcomes, upstream } = relay('data: {"a":1}\n\n', ['data: x\n\n']);
    await r.next();
    r.cancel();
    expect(upstream.cancelled).toBe(true);
    expect(outcomes).toEqual(['client_abort']);
    expect(await r.next()).toBeNull();
  });
});
