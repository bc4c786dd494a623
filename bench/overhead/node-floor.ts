// The floor for any Node router: a minimal reverse proxy on node:http + undici.Pool with no auth, no config
// and no routing decision. Small JSON bodies are buffered; SSE is relayed chunk by chunk. It is a reference
// target for bench/overhead ("what does the Node stack itself cost on this machine, in the same run"), not a
// product: kvroute on Node can at best approach it.
//
//   node --import tsx bench/overhead/node-floor.ts --port P --upstream http://127.0.0.1:U
import http from 'node:http';
import { Pool } from 'undici';
import { parseFlags, num } from '../../src/util/args.ts';

const f = parseFlags(process.argv.slice(2), { port: { type: 'string' }, upstream: { type: 'string' } });
if (!f.upstream) throw new Error('--upstream is required');
const pool = new Pool(f.upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });

const server = http.createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  const relay = async () => {
    try {
      const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      const up = await pool.request({
        path: req.url!,
        method: req.method as 'POST',
        headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
        body,
      });
      const ct = String(up.headers['content-type'] ?? '');
      if (ct.startsWith('text/event-stream')) {
        res.writeHead(up.statusCode, { 'content-type': ct, 'cache-control': 'no-cache' });
        res.flushHeaders();
        for await (const chunk of up.body) res.write(chunk);
        res.end();
        return;
      }
      const text = await up.body.text();
      res.writeHead(up.statusCode, { 'content-type': ct || 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } catch (err) {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(err), type: 'server_error', param: null, code: 'upstream_error' } }));
    }
  };
  // The relay answers every failure itself (502 above), so its promise never rejects.
  req.on('end', () => void relay());
});
server.keepAliveTimeout = 65_000;
server.listen(num('port', f.port, 0), '127.0.0.1');
const stop = () =>
  server.close(() => {
    pool.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
