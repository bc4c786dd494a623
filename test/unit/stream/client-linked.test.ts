// ClientLinkedSource: the client's signal cancels the stream, and the stream lets go of the signal once it ends.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ClientLinkedSource } from '../../../src/stream/client-linked.ts';
import type { ChunkSource } from '../../../src/stream/relay.ts';

const enc = new TextEncoder();

function source(chunks: string[]): ChunkSource & { cancelled: boolean } {
  const s = {
    cancelled: false,
    next: () => Promise.resolve(s.cancelled ? null : (chunks.length ? enc.encode(chunks.shift()) : null)),
    cancel: () => {
      s.cancelled = true;
    },
  };
  return s;
}

describe('ClientLinkedSource', () => {
  it('passes the chunks on and removes its listener from the signal when the stream ends', async () => {
    const ac = new AbortController();
    const linked = new ClientLinkedSource(source(['a', 'b']), ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    const got: string[] = [];
    for (let c = await linked.next(); c; c = await linked.next()) got.push(new TextDecoder().decode(c));
    expect(got).toEqual(['a', 'b']);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('the client leaving cancels the source', async () => {
    const ac = new AbortController();
    const src = source(['a', 'b']);
    const linked = new ClientLinkedSource(src, ac.signal);
    await linked.next();
    ac.abort();
    expect(src.cancelled).toBe(true);
    expect(await linked.next()).toBeNull();
  });

  it('a cancel by the runtime removes the listener too', () => {
    const ac = new AbortController();
    const src = source(['a']);
    new ClientLinkedSource(src, ac.signal).cancel();
    expect(src.cancelled).toBe(true);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});
