import { describe, expect, it } from 'vitest';
import { readLimited } from '../../../routes/read-body.ts';

const post = (body: ReadableStream<Uint8Array>) => new Request('http://router/v1/chat/completions', { method: 'POST', body, duplex: 'half' } as RequestInit);

describe('readLimited', () => {
  it('a body that breaks while it is read is the client failing (499 client_closed), not a router error', async () => {
    // What workerd hands the Worker when the client's chunked framing is broken or its connection drops mid-upload.
    let sent = false;
    const breaking = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent) c.error(new Error('Network connection lost.'));
        else c.enqueue(new TextEncoder().encode('{"model":'));
        sent = true;
      },
    });
    await expect(readLimited(post(breaking), 1_000, 5_000)).rejects.toMatchObject({ status: 499, code: 'client_closed' });
  });

  it('still reads a whole body, and still answers 413 past the limit', async () => {
    const body = (text: string) => new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new TextEncoder().encode(text)), c.close()) });
    expect(await readLimited(post(body('{"a":1}')), 100, 5_000)).toBe('{"a":1}');
    await expect(readLimited(post(body('x'.repeat(101))), 100, 5_000)).rejects.toMatchObject({ status: 413 });
  });

  it('a declared Content-Length over the limit is still read (and dropped) before the 413, so the answer arrives whole', async () => {
    // Answering while the client is still sending breaks the connection in workerd and wrangler dev's proxy.
    let sent = 0;
    const upload = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent === 4) return c.close();
        sent++;
        c.enqueue(new Uint8Array(100));
      },
    });
    const req = new Request('http://router/v1/chat/completions', { method: 'POST', body: upload, duplex: 'half', headers: { 'content-length': '400' } } as RequestInit);
    await expect(readLimited(req, 100, 5_000)).rejects.toMatchObject({ status: 413 });
    expect(sent).toBe(4);
  });

  it('a body that misses its deadline is answered 408 and left to the runtime, not cancelled', async () => {
    // Under wrangler dev, cancelling an unfinished request body made it restart the Worker: requests of other
    // tenants in flight at that moment got its 503 (found by the fuzz suite). The runtime drops the rest itself.
    let cancelled = false;
    const stalled = new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(new TextEncoder().encode('{"model":')),
      cancel: () => {
        cancelled = true;
      },
    });
    await expect(readLimited(post(stalled), 1_000, 50)).rejects.toMatchObject({ status: 408 });
    expect(cancelled).toBe(false);
  });
});
