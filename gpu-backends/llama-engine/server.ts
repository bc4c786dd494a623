// The engine's HTTP surface over node:http, as llama-server serves it: POST /v1/chat/completions and
// /v1/completions (whole or SSE), GET /v1/models, /health (503 while the model loads), /metrics, /slots, /props,
// and POST /slots/{id}?action=erase.
// It listens at once and loads the model behind, so a prober sees "loading" rather than a refused connection.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { LlamaEngine } from './engine.ts';
import { EngineError, parseEngineRequest, type Endpoint } from './request.ts';
import {
  chatBody,
  chatContentChunk,
  chatFinalChunks,
  chatRoleChunk,
  completionBody,
  completionChunk,
  completionFinalChunk,
  completionId,
  errorBody,
  SSE_DONE,
  sseData,
  type ResponseMeta,
} from './responses.ts';

const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** llama.cpp's enum llama_vocab_type, in order (what /v1/models reports as a number). */
const LLAMA_VOCAB_TYPES: readonly string[] = ['none', 'spm', 'bpe', 'wpm', 'ugm', 'rwkv', 'plamo2'];

export interface EngineServer {
  url: string;
  port: number;
  /** Resolves with the engine once the model is loaded (rejects if loading fails). */
  ready: Promise<LlamaEngine>;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const e = err instanceof EngineError ? err : new EngineError(`internal error: ${(err as Error)?.message ?? String(err)}`, 500, 'server_error', null, 'internal_error');
  if (res.headersSent) {
    // Mid-stream: an error event and no [DONE], so the client sees the stream did not complete.
    if (!res.writableEnded) res.end(sseData(errorBody(e.message, e.type, e.code, e.param)));
    return;
  }
  sendJson(res, e.status, errorBody(e.message, e.type, e.code, e.param));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new EngineError(`The request body is larger than ${MAX_BODY_BYTES} bytes.`, 413, 'invalid_request_error', null, 'body_too_large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new EngineError(`The body is not valid JSON: ${(err as Error).message}`, 400, 'invalid_request_error', null, 'invalid_json');
  }
}

async function complete(engine: LlamaEngine, endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const r = parseEngineRequest(endpoint, await readJson(req));
  const prompt = engine.tokenize(r.prompt);
  const meta: ResponseMeta = {
    id: completionId(),
    created: Math.floor(Date.now() / 1000),
    model: r.model ?? engine.modelName,
    fingerprint: engine.fingerprint,
  };
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  if (!r.stream) {
    const result = await engine.generate(r, prompt, () => {}, abort.signal);
    if (!abort.signal.aborted) sendJson(res, 200, endpoint === 'chat' ? chatBody(meta, result) : completionBody(meta, result));
    return;
  }
  // Headers go out with the first token, as llama-server sends them with its first result.
  const start = () => {
    if (res.headersSent) return;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    if (endpoint === 'chat') res.write(sseData(chatRoleChunk(meta)));
  };
  const result = await engine.generate(
    r,
    prompt,
    (text) => {
      start();
      res.write(sseData(endpoint === 'chat' ? chatContentChunk(meta, text) : completionChunk(meta, text)));
    },
    abort.signal,
  );
  if (abort.signal.aborted) return;
  start();
  const closing = endpoint === 'chat' ? chatFinalChunks(meta, result, r.includeUsage) : [completionFinalChunk(meta, result)];
  res.end(closing.map(sseData).join('') + SSE_DONE);
}

function modelsBody(engine: LlamaEngine, created: number): object {
  const general = engine.model.fileInfo.metadata.general;
  return {
    object: 'list',
    data: [
      {
        id: engine.modelName,
        object: 'model',
        created,
        owned_by: 'llamacpp',
        meta: {
          vocab_type: LLAMA_VOCAB_TYPES.indexOf(engine.model.vocabularyType),
          n_vocab: engine.vocabularySize,
          n_ctx_train: engine.model.trainContextSize,
          n_embd: engine.model.embeddingVectorSize,
          n_params: engine.parameterCount,
          size: engine.model.size,
          name: general?.name ?? null,
        },
      },
    ],
  };
}

async function route(state: { engine?: LlamaEngine; created: number }, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://engine');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const engine = state.engine;
  if (method === 'GET' && (path === '/health' || path === '/v1/health')) {
    if (!engine) return sendJson(res, 503, errorBody('Loading model', 'unavailable_error', 'loading'));
    return sendJson(res, 200, { status: 'ok' });
  }
  if (!engine) return sendJson(res, 503, errorBody('Loading model', 'unavailable_error', 'loading'));
  if (method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions')) return complete(engine, 'chat', req, res);
  if (method === 'POST' && path === '/v1/completions') return complete(engine, 'completions', req, res);
  if (method === 'GET' && (path === '/v1/models' || path === '/models')) return sendJson(res, 200, modelsBody(engine, state.created));
  if (method === 'GET' && path === '/metrics') {
    const text = engine.metricsText();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text), 'process-start-time-unix': String(engine.metrics.startedAtUnix) });
    return void res.end(text);
  }
  if (method === 'GET' && path === '/slots') {
    if (url.searchParams.has('fail_on_no_slot') && engine.pool.processing === engine.pool.slots.length) {
      return sendJson(res, 503, errorBody('no slot available', 'unavailable_error', 'no_slot_available'));
    }
    return sendJson(res, 200, engine.slotsJson());
  }
  const slotAction = method === 'POST' ? /^\/slots\/(\d+)$/.exec(path) : null;
  if (slotAction) {
    const id = Number(slotAction[1]);
    if (url.searchParams.get('action') !== 'erase') {
      return sendJson(res, 501, errorBody('This engine supports only action=erase on /slots/{id} (it saves no slot state to disk).', 'not_supported_error', 'not_supported', 'action'));
    }
    return sendJson(res, 200, { id_slot: id, n_erased: await engine.eraseSlot(id) });
  }
  if (method === 'GET' && path === '/props') {
    return sendJson(res, 200, { total_slots: engine.pool.slots.length, model_path: engine.options.modelPath, n_ctx: engine.slotContextSize, build_info: engine.fingerprint });
  }
  return sendJson(res, 404, errorBody(`${method} ${path} is not a route of this engine`, 'not_found_error', 'not_found'));
}

/** Listens on host:port (0 picks a free port), then loads the engine with `load`. */
export async function startEngineServer(load: () => Promise<LlamaEngine>, opts: { host?: string; port?: number } = {}): Promise<EngineServer> {
  const state: { engine?: LlamaEngine; created: number } = { created: Math.floor(Date.now() / 1000) };
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    route(state, req, res).catch((err: unknown) => {
      // A client that went away (while queued or generating) needs no answer.
      if (res.destroyed) return;
      if (!(err instanceof EngineError)) console.error('kvroute engine: request failed', err);
      sendError(res, err);
    });
  });
  server.keepAliveTimeout = 5_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const ready = load().then((engine) => (state.engine = engine));
  ready.catch(() => {}); // the caller handles it; never an unhandled rejection
  return {
    url: `http://${host}:${port}`,
    port,
    ready,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      const engine = await ready.catch(() => undefined);
      await engine?.close();
    },
  };
}
