import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { SseRelay, type StreamOutcome } from '../../../src/stream/relay.ts';
import type { BodyReader } from '../../../src/upstream/types.ts';
import { errorIn } from '../../helpers/responses.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A body that yields the given steps: a string chunk, an Error to throw, or the string 'stall' for a read that waits
 * until the body is cancelled, which ends it the way `onCancel` says: rejected (Node's client) or done (a web
 * stream's reader, on Workers).
 */
function body(steps: (string | Error)[], onCancel: 'reject' | 'done' = 'reject'): BodyReader & { cancelled: boolean } {
  let i = 0;
  let wake: (() => void) | null = null;
  const b = {
    cancelled: false,
    async read() {
      const s = steps[i++];
      if (s === undefined) return null;
      if (s === 'stall') {
        await new Promise<void>((r) => (wake = r));
        if (onCancel === 'reject') throw new Error('the response body was cancelled');
        return null;
      }
      if (s instanceof Error) throw s;
      return enc.encode(s);
    },
    cancel() {
      b.cancelled = true;
      wake?.();
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

function relay(first: string, steps: (string | Error)[], idleMs = 50, onCancel: 'reject' | 'done' = 'reject') {
  const outcomes: StreamOutcome[] = [];
  const upstream = body(steps, onCancel);
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

  for (const onCancel of ['reject', 'done'] as const) {
    it(`times out a stalled stream with an error event (a cancelled read ends ${onCancel === 'done' ? 'as done' : 'rejected'})`, async () => {
      const { r, outcomes, upstream } = relay('data: {"a":1}\n\n', ['stall'], 20, onCancel);
      const out = await drain(r);
      expect(out).toMatch(/"code":"upstream_stream_timeout"/);
      expect(outcomes).toEqual(['idle_timeout']);
      expect(upstream.cancelled).toBe(true);
    });
  }

  it('keeps no chunk it has handed on while the stream goes on', async () => {
    // 300 chunks relayed, the stream still open: each chunk must be free for the collector once the client has it.
    // (A Promise.race of every read against one promise that lives as long as the stream kept them all.)
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const handed: WeakRef<Uint8Array>[] = [];
    let n = 0;
    const upstream: BodyReader = {
      read: () => Promise.resolve(n++ < 300 ? enc.encode(`data: {"i":${n}}\n\n`) : new Promise<null>(() => {})),
      cancel: () => {},
    };
    const r = new SseRelay(null, upstream, { idleMs: 60_000, onEnd: () => {} });
    for (let i = 0; i < 300; i++) handed.push(new WeakRef((await r.next())!));
    await new Promise((res) => setTimeout(res, 0)); // WeakRef targets are kept until the current job ends
    gc();
    expect(handed.filter((w) => w.deref() !== undefined).length).toBeLessThan(5);
    r.cancel();
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
