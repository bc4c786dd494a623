import { describe, expect, it, vi } from 'vitest';
import { Pool } from 'undici';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LightAbort } from '../../../src/util/abort.ts';

describe('LightAbort', () => {
  it('tells each listener once, in order, and only listeners still registered', () => {
    const a = new LightAbort();
    const heard: string[] = [];
    const gone = () => heard.push('removed');
    a.addEventListener('abort', () => heard.push('first'), { once: true });
    a.addEventListener('abort', gone);
    a.addEventListener('abort', () => heard.push('second'));
    a.removeEventListener('abort', gone);
    expect(a.aborted).toBe(false);
    a.abort();
    a.abort();
    expect(a.aborted).toBe(true);
    expect(heard).toEqual(['first', 'second']);
  });

  it('a listener added after the abort is never called (as with an AbortSignal)', () => {
    const a = new LightAbort();
    a.abort();
    const late = vi.fn();
    a.addEventListener('abort', late);
    a.abort();
    expect(late).not.toHaveBeenCalled();
  });

  it("a failing listener does not stop the others and does not throw from abort()", () => {
    const a = new LightAbort();
    const after = vi.fn();
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    a.addEventListener('abort', () => {
      throw new Error('boom');
    });
    a.addEventListener('abort', after);
    expect(() => a.abort()).not.toThrow();
    expect(after).toHaveBeenCalledOnce();
    expect(error).toHaveBeenCalledOnce();
    error.mockRestore();
  });

  it('aborts an undici request that waits for its response headers', async () => {
    // A server that never answers: only the abort can end the request.
    const server = http.createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const a = new LightAbort();
      const pending = pool.request({ path: '/', method: 'GET', signal: a });
      setTimeout(() => a.abort(), 50);
      await expect(pending).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
    } finally {
      await pool.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
