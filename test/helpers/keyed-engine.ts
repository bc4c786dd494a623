// A tiny engine that wants an API key, as llama-server started with --api-key does: /health is public, /metrics and
// /slots answer 401 without `Authorization: Bearer <key>`. It answers with llama.cpp's shapes (fixtures taken from
// llama.cpp's server), so probes of a keyed llama-cpp backend can be checked over real sockets.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const fixture = (name: string) => readFileSync(new URL(`../unit/gpu-backends/adapters/fixtures/${name}`, import.meta.url), 'utf8');

export interface KeyedEngine {
  url: string;
  /** Authorization headers seen, by path. */
  seen: Map<string, (string | undefined)[]>;
  close(): Promise<void>;
}

export interface KeyedEngineOptions {
  /** Answer /metrics 501, as llama-server does without --metrics. */
  noMetrics?: boolean;
  /** Hold each /metrics answer this long, as llama-server's busy main loop does (up to ~2 s). */
  metricsDelayMs?: number;
}

export async function startKeyedEngine(key: string, opts: KeyedEngineOptions = {}): Promise<KeyedEngine> {
  const metrics = fixture('llamacpp-metrics-current.txt');
  const slots = fixture('llamacpp-slots-current.json');
  const seen = new Map<string, (string | undefined)[]>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const list = seen.get(path) ?? [];
    list.push(req.headers.authorization);
    seen.set(path, list);
    if (path === '/health') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    if (req.headers.authorization !== `Bearer ${key}`) {
      return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}');
    }
    if (path === '/metrics' && opts.noMetrics) {
      return void res.writeHead(501, { 'content-type': 'application/json' }).end('{"error":{"code":501,"message":"This server does not support metrics endpoint. Start it with `--metrics`","type":"not_supported_error"}}');
    }
    if (path === '/metrics') {
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics), opts.metricsDelayMs ?? 0);
      return;
    }
    if (path === '/slots') return void res.writeHead(200, { 'content-type': 'application/json' }).end(slots);
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
