// The Node upstream client against a real HTTP server on loopback: heads, bodies pulled chunk by chunk, keep-alive,
// and every way a request ends early (abort before or after the head, cancel, a reset, a refused connection).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LightAbort } from '../../../src/util/abort.ts';
import { NodeUpstreamClient } from '../../../src/upstream/node-client.ts';
import { readAllText, type BodyReader } from '../../../src/upstream/types.ts';

const servers: http.Server[] = [];
const clients: NodeUpstreamClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: http.RequestListener): Promise<{ url: string; sockets: Set<Socket> }> {
  const server = http.createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => sockets.add(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

function client(): NodeUpstreamClient {
  const c = new NodeUpstreamClient();
  clients.push(c);
  return c;
}

const send = (c: NodeUpstreamClient, baseUrl: string, signal = new LightAbort(), path = '/v1/chat/completions') =>
  c.send({ baseUrl, path, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m"}', signal, connectTimeoutMs: 1_000 });

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function chunks(body: BodyReader): Promise<string[]> {
  const out: string[] = [];
  for (let c = await body.read(); c; c = await body.read()) out.push(Buffer.from(c).toString());
  return out;
}

describe('NodeUpstreamClient', () => {
  it('gives the status, headers by any case (repeated ones joined) and the body, over one kept-alive connection', async () => {
    const seen: { url?: string; body: string }[] = [];
    const { url, sockets } = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url, body });
        res.writeHead(201, [['Content-Type', 'application/json'], ['X-Multi', 'a'], ['X-Multi', 'b']]);
        res.end('{"ok":true}');
      });
    });
    const c = client();
    for (let i = 0; i < 4; i++) {
      const res = await send(c, `${url}/prefix/`);
      expect(res.status).toBe(201);
      expect(res.header('Content-Type')).toBe('application/json');
      expect(res.header('x-multi')).toBe('a, b');
      expect(res.header('x-absent')).toBeNull();
      expect(await readAllText(res.body)).toBe('{"ok":true}');
      expect(await res.body.read()).toBeNull();
    }
    expect(seen).toEqual(Array(4).fill({ url: '/prefix/v1/chat/completions', body: '{"model":"m"}' }));
    expect(sockets.size).toBeLessThan(4); // connections are reused
  });

  it('hands a stream over chunk by chunk as it arrives, and a large body whole to a slow reader', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const { url } = await serve((req, res) => {
      if (req.url === '/big') {
        res.end(big);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const events = ['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n'];
      const next = () => (events.length ? (res.write(events.shift()!), setTimeout(next, 30)) : res.end());
      next();
    });
    const c = client();
    const stream = await send(c, url);
    expect(await chunks(stream.body)).toEqual(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n']);
    const res = await send(c, url, new LightAbort(), '/big');
    let got = 0;
    for (let chunk = await res.body.read(); chunk; chunk = await res.body.read()) {
      got += chunk.byteLength;
      await wait(1);
    }
    expect(got).toBe(big.length);
  });

  it('an abort before the head rejects the send as aborted; so does a signal aborted before it', async () => {
    const { url } = await serve(() => {}); // never answers
    const c = client();
    const a = new LightAbort();
    const pending = send(c, url, a);
    setTimeout(() => a.abort(), 30);
    await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
    const early = new LightAbort();
    early.abort();
    await expect(send(c, url, early)).rejects.toMatchObject({ kind: 'aborted' });
  });

  it('an abort or a cancel mid-body rejects the pending read and drops the connection', async () => {
    const used: Socket[] = [];
    const { url } = await serve((req, res) => {
      used.push(req.socket);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n'); // and then nothing
    });
    const c = client();
    const a = new LightAbort();
    const aborted = await send(c, url, a);
    expect(Buffer.from((await aborted.body.read())!).toString()).toBe('data: 1\n\n');
    const read = aborted.body.read();
    a.abort();
    await expect(read).rejects.toMatchObject({ kind: 'aborted' });

    const cancelled = await send(c, url);
    await cancelled.body.read();
    const next = cancelled.body.read();
    cancelled.body.cancel();
    await expect(next).rejects.toBeInstanceOf(Error);
    await expect(cancelled.body.read()).rejects.toBeInstanceOf(Error);
    await wait(50);
    expect(used.map((s) => s.destroyed)).toEqual([true, true]);
  });

  it('a backend that resets mid-body fails the read as a reset; a refused connection fails the send as connect', async () => {
    const { url } = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 30);
    });
    const c = client();
    const res = await send(c, url);
    await expect(readAllText(res.body)).rejects.toMatchObject({ kind: 'reset' });

    const { url: closed } = await serve(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    await expect(send(c, closed)).rejects.toMatchObject({ kind: 'connect' });
  });
});
