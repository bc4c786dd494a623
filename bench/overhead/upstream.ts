// A trivially fast OpenAI-compatible upstream for the overhead benchmark (bench/overhead).
//
// - POST /v1/chat/completions (and /chat/completions): a pre-serialised ~300-byte chat completion, or with
//   `"stream": true` an SSE stream of `chunks` chunks: the first after a fixed `ttftMs`, the rest `chunkDelayMs`
//   apart, then `data: [DONE]`. Fixed timings make time-to-first-byte through different proxies comparable.
// - GET /v1/models, /health, /metrics: small fixed answers, so routers that probe backends get something valid.
// Everything is pre-serialised; the request body is read (it must be, to keep the connection reusable) but only
// scanned for `"stream":true`, never parsed.
//
// Run standalone: `npx tsx bench/overhead/upstream.ts [--port 0] [--ttft-ms 20] [--chunks 10] [--chunk-delay-ms 2]`
// prints one JSON line `{"ready":true,"port":N}` on stdout when it listens (run.ts waits for it).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface UpstreamOptions {
  port?: number;
  host?: string;
  ttftMs?: number;
  chunks?: number;
  chunkDelayMs?: number;
}

export interface Upstream {
  port: number;
  close(): Promise<void>;
}

const MODEL = 'bench-model';

const COMPLETION = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench0000000000000000',
    object: 'chat.completion',
    created: 1767225600,
    model: MODEL,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'The quick brown fox jumps over the lazy dog. A short fixed answer.' },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 12, completion_tokens: 16, total_tokens: 28 },
  }),
);

function sseChunk(i: number, content: string | null, finish: string | null): Buffer {
  const delta = i === 0 ? { role: 'assistant', content: content ?? '' } : content === null ? {} : { content };
  const obj = {
    id: 'chatcmpl-bench0000000000000000',
    object: 'chat.completion.chunk',
    created: 1767225600,
    model: MODEL,
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
  return Buffer.from(`data: ${JSON.stringify(obj)}\n\n`);
}

function buildStream(chunks: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < chunks - 1; i++) out.push(sseChunk(i, ` tok${i}`, null));
  out.push(sseChunk(Math.max(1, chunks - 1), null, 'stop'));
  out.push(Buffer.from('data: [DONE]\n\n'));
  return out;
}

const MODELS = Buffer.from(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'bench' }] }));
const HEALTH = Buffer.from('{"status":"ok"}');
// Minimal vLLM-style gauges, in case a router scrapes backend load.
const METRICS = Buffer.from(
  'vllm:num_requests_running{model_name="bench-model"} 0\nvllm:num_requests_waiting{model_name="bench-model"} 0\nvllm:gpu_cache_usage_perc{model_name="bench-model"} 0\n',
);
const NOT_FOUND = Buffer.from('{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":"not_found"}}');

const JSON_HEADERS = (len: number) => ({ 'content-type': 'application/json', 'content-length': len });
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

// Matches `"stream":true` with optional whitespace; bodies are small, so a regex over the raw text is cheap.
const STREAM_RE = /"stream"\s*:\s*true/;

export function startUpstream(opts: UpstreamOptions = {}): Promise<Upstream> {
  const ttftMs = opts.ttftMs ?? 20;
  const chunkDelayMs = opts.chunkDelayMs ?? 2;
  const stream = buildStream(Math.max(2, opts.chunks ?? 10));

  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'POST' && (url === '/v1/chat/completions' || url === '/chat/completions')) {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        if (!STREAM_RE.test(body.toString('latin1'))) {
          res.writeHead(200, JSON_HEADERS(COMPLETION.length));
          res.end(COMPLETION);
          return;
        }
        res.writeHead(200, SSE_HEADERS);
        res.flushHeaders();
        let i = 0;
        let timer: NodeJS.Timeout | undefined;
        const next = () => {
          if (res.destroyed) return;
          res.write(stream[i++]);
          if (i === stream.length - 1) {
            res.end(stream[i]); // last content chunk is followed immediately by [DONE]
            return;
          }
          timer = setTimeout(next, chunkDelayMs);
        };
        res.on('close', () => timer && clearTimeout(timer));
        timer = setTimeout(next, ttftMs);
      });
      return;
    }
    // Drain any body, then answer.
    req.resume();
    const path = url.split('?')[0];
    let body = NOT_FOUND;
    let status = 404;
    if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) [status, body] = [200, MODELS];
    else if (req.method === 'GET' && (path === '/health' || path === '/healthz')) [status, body] = [200, HEALTH];
    else if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': METRICS.length });
      res.end(METRICS);
      return;
    }
    res.writeHead(status, JSON_HEADERS(body.length));
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

async function main(argv: string[]) {
  const { parseFlags, num } = await import('../../src/util/args.ts');
  const f = parseFlags(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    'ttft-ms': { type: 'string' },
    chunks: { type: 'string' },
    'chunk-delay-ms': { type: 'string' },
  });
  const up = await startUpstream({
    port: num('port', f.port, 0),
    host: f.host ?? '127.0.0.1',
    ttftMs: num('ttft-ms', f['ttft-ms'], 20),
    chunks: num('chunks', f.chunks, 10),
    chunkDelayMs: num('chunk-delay-ms', f['chunk-delay-ms'], 2),
  });
  process.stdout.write(JSON.stringify({ ready: true, port: up.port }) + '\n');
  const stop = (why: string) => {
    console.error(`upstream: ${why}, exiting`);
    void up.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Exit when the parent goes away (stdin closes), so an upstream is never left behind.
  process.stdin.on('end', () => stop('stdin closed')).on('error', () => stop('stdin error')).resume();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
