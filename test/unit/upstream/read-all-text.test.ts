// readAllText: a whole (small) upstream body as text, with an idle timeout measured from the last chunk.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readAllText, UpstreamFailure, type BodyReader } from '../../../src/upstream/types.ts';
import { FetchUpstreamClient } from '../../../src/upstream/fetch-client.ts';

const enc = new TextEncoder();

/** A body whose chunks arrive at the given times (ms); then it ends, or stalls forever with `stall`. */
function timedBody(chunks: [number, string][], end: 'end' | 'stall' = 'end'): BodyReader & { cancelled: boolean } {
  const arrived: (Uint8Array | null)[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  for (const [at, text] of chunks) setTimeout(() => (arrived.push(enc.encode(text)), wake?.()), at);
  if (end === 'end') setTimeout(() => (arrived.push(null), wake?.()), (chunks.at(-1)?.[0] ?? 0) + 1);
  const b = {
    cancelled: false,
    async read(): Promise<Uint8Array | null> {
      for (;;) {
        if (failure) throw failure;
        if (arrived.length) return arrived.shift()!;
        await new Promise<void>((r) => (wake = r));
      }
    },
    cancel() {
      b.cancelled = true;
      failure = new UpstreamFailure('aborted', 'cancelled');
      wake?.();
    },
  };
  return b;
}

beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] }));
afterEach(() => vi.useRealTimers());

describe('readAllText', () => {
  it('reads a body whose chunks keep coming within idleMs, however long it takes in all', async () => {
    const body = timedBody([[0, 'a'], [800, 'b'], [1_600, 'c'], [2_400, 'd']]);
    const progress = vi.fn();
    const text = readAllText(body, undefined, 1_000, progress);
    await vi.advanceTimersByTimeAsync(3_000);
    await expect(text).resolves.toBe('abcd');
    expect(progress).toHaveBeenCalledTimes(4);
    expect(body.cancelled).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fails as a timeout, and cancels the body, idleMs after the last chunk and not before', async () => {
    const body = timedBody([[0, 'a'], [700, 'b']], 'stall');
    const text = readAllText(body, undefined, 1_000);
    let outcome: unknown = 'pending';
    text.then((t) => (outcome = t), (e: unknown) => (outcome = e));
    await vi.advanceTimersByTimeAsync(1_699);
    expect(outcome).toBe('pending');
    await vi.advanceTimersByTimeAsync(2);
    expect(outcome).toBeInstanceOf(UpstreamFailure);
    expect(outcome).toMatchObject({ kind: 'timeout', message: 'no data for 1000 ms' });
    expect(body.cancelled).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a body over maxBytes and cancels it', async () => {
    const body = timedBody([[0, 'abc'], [1, 'def']]);
    const text = readAllText(body, 4);
    const failed = expect(text).rejects.toThrow('upstream body exceeds 4 bytes');
    await vi.advanceTimersByTimeAsync(10);
    await failed;
    expect(body.cancelled).toBe(true);
  });

  it('a body that is already there is read without a timer (readNow)', async () => {
    const parts: (Uint8Array | null)[] = [enc.encode('{"a":'), enc.encode('1}'), null];
    const body: BodyReader = { read: () => Promise.resolve(parts.shift() ?? null), readNow: () => parts.shift(), cancel() {} };
    const armed = vi.spyOn(globalThis, 'setTimeout');
    await expect(readAllText(body, undefined, 1_000)).resolves.toBe('{"a":1}');
    expect(armed).not.toHaveBeenCalled();
  });

  it('a fetch body that stalls is a timeout, though cancelling a web stream ends its pending read as done', async () => {
    // The Workers client's reader over a real web ReadableStream: one chunk, then nothing (and no end).
    const stalled = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(enc.encode('{"choices":')) });
    const client = new FetchUpstreamClient(() => Promise.resolve(new Response(stalled, { headers: { 'content-type': 'application/json' } })));
    const res = await client.send({ baseUrl: 'http://b0', path: '/v1/chat/completions', method: 'POST', headers: {}, body: '{}', signal: new AbortController().signal, connectTimeoutMs: 1_000 });
    const text = readAllText(res.body, undefined, 1_000);
    let outcome: unknown = 'pending';
    text.then((t) => (outcome = t), (e: unknown) => (outcome = e));
    await vi.advanceTimersByTimeAsync(1_001);
    expect(outcome).toMatchObject({ kind: 'timeout', message: 'no data for 1000 ms' });
  });
});
