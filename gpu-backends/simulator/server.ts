// One simulated vLLM backend over plain node:http: the OpenAI surface (/v1/chat/completions, /v1/completions,
// /v1/responses, /v1/embeddings, /v1/models), /health, /metrics, and an admin surface for fault injection (/admin/faults, /admin/reset,
// /admin/state). Requests run through the pure engine model on the wall clock (EngineDriver); every time it
// reports (usage, histograms) is simulated time.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { BackendContext as Context } from './backend-context.ts';
import { Engine } from './engine.ts';
import { EngineDriver } from './engine-driver.ts';
import { parseFaults, type Faults, type FaultsInput } from './faults.ts';
import { embed } from './embeddings.ts';
import { generate } from './generation.ts';
import { loadHeaders, readJson, sendJson, sendText } from './http-io.ts';
import { SimMetrics } from './metrics.ts';
import { errorBody } from './openai-response.ts';
import type { OutputModel } from './output-text.ts';
import { contextLimit, engineConfig, type EngineConfig } from './profiles.ts';

export { promptTextForRequest, renderChatPrompt, renderCompletionPrompt } from './chat-template.ts';

export interface SimBackendOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Served model name (GET /v1/models, the `model` field of responses). */
  model?: string;
  /** Engine profile name (profiles.ts) and overrides. */
  profile?: string;
  engine?: Partial<Omit<EngineConfig, 'profile'>>;
  /** Simulated ms per wall ms (60 replays an hour in a minute). Default 1. */
  timeScale?: number;
  /** Answer generation (output-text.ts): own seed, agreement share with `referenceSeed`, mean length. */
  output?: Partial<OutputModel>;
  /** KV block hash seed (vLLM's hash seed); backends only share cache hits if equal. Default 0. */
  hashSeed?: number;
  /** Faults active from the start. */
  faults?: FaultsInput;
  /** Seed of the fault draws. */
  faultSeed?: number;
  /** Emit usage.prompt_tokens_details.cached_tokens (vLLM --enable-prompt-tokens-details). Default true. */
  promptTokensDetails?: boolean;
}

export interface SimBackend {
  url: string;
  port: number;
  engine: Engine;
  driver: EngineDriver;
  setFaults(faults: FaultsInput): Faults;
  getFaults(): Faults;
  /** Drops cached prefixes and zeroes counters and histograms. */
  reset(): void;
  close(): Promise<void>;
}

export async function startSimBackend(opts: SimBackendOptions = {}): Promise<SimBackend> {
  const config = engineConfig(opts.profile, opts.engine);
  const engine = new Engine(config);
  const driver = new EngineDriver(engine, opts.timeScale ?? 1);
  const ctx: Context = {
    model: opts.model ?? 'llama-3.1-8b',
    engine,
    driver,
    config,
    output: { seed: 0, ...opts.output },
    hashSeed: opts.hashSeed ?? 0,
    promptTokensDetails: opts.promptTokensDetails ?? true,
    faults: parseFaults(opts.faults),
    faultSeed: opts.faultSeed ?? 1,
    requestCount: 0,
    metrics: new SimMetrics(),
    created: Math.floor(Date.now() / 1000),
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(err instanceof Error ? err.message : String(err), 'InternalServerError', 500));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const host = opts.host ?? '127.0.0.1';
  let port = opts.port ?? 0;
  let listening = false;
  let closed = false;
  let refuseTimer: ReturnType<typeof setTimeout> | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        port = (server.address() as AddressInfo).port;
        listening = true;
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  const applyFaults = (input: FaultsInput): Faults => {
    const faults = parseFaults(input);
    ctx.faults = faults;
    engine.setSlowdown(faults.slowDecode?.factor ?? 1);
    if (refuseTimer) clearTimeout(refuseTimer);
    refuseTimer = undefined;
    if (faults.refuseConnections) {
      void stopListening();
      const ms = faults.refuseConnections.ms;
      if (ms !== undefined) {
        refuseTimer = setTimeout(() => {
          const { refuseConnections: _, ...rest } = ctx.faults;
          applyFaults(rest);
        }, driver.wallMs(ms));
      }
    } else if (!listening && !closed) {
      void listen();
    }
    return faults;
  };
  ctx.setFaults = applyFaults;

  await listen();
  applyFaults(opts.faults ?? {});

  return {
    url: `http://${host}:${port}`,
    port,
    engine,
    driver,
    setFaults: applyFaults,
    getFaults: () => ctx.faults,
    reset: () => resetState(ctx),
    close: async () => {
      closed = true;
      if (refuseTimer) clearTimeout(refuseTimer);
      driver.close();
      await stopListening();
    },
  };
}

function resetState(ctx: Context): void {
  ctx.driver.tick();
  ctx.engine.reset();
  ctx.metrics = new SimMetrics();
}

async function route(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  const method = req.method ?? 'GET';
  // Load on every response (generation responses refresh it when they start writing).
  for (const [name, value] of Object.entries(loadHeaders(ctx.engine))) res.setHeader(name, value);
  if (method === 'POST' && path === '/v1/chat/completions') return generate(ctx, 'chat', req, res);
  if (method === 'POST' && path === '/v1/completions') return generate(ctx, 'completions', req, res);
  if (method === 'POST' && path === '/v1/responses') return generate(ctx, 'responses', req, res);
  if (method === 'POST' && path === '/v1/embeddings') return embed(ctx, req, res);
  if (method === 'GET' && (path === '/health' || path === '/ping')) return sendText(res, 200, '', 'text/plain');
  if (method === 'GET' && path === '/v1/models') return sendJson(res, 200, modelsBody(ctx));
  if (method === 'GET' && path === '/version') return sendJson(res, 200, { version: 'kvroute-sim' });
  if (method === 'GET' && path === '/metrics') {
    ctx.driver.tick();
    const text = ctx.metrics.renderFor(ctx.config.kind, ctx.engine.snapshot(), ctx.model, ctx.config.blockSizeTokens, ctx.config.enablePrefixCaching);
    return sendText(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8');
  }
  if (path === '/admin/faults' && method === 'GET') return sendJson(res, 200, ctx.faults);
  if (path === '/admin/faults' && method === 'POST') {
    const body = await readJson(req, res);
    if (body === undefined) return;
    try {
      return sendJson(res, 200, ctx.setFaults!(body as FaultsInput));
    } catch (err) {
      return sendJson(res, 400, errorBody(`invalid faults: ${(err as Error).message}`, 'BadRequestError', 400));
    }
  }
  if (path === '/admin/reset' && method === 'POST') {
    resetState(ctx);
    return sendJson(res, 200, { ok: true });
  }
  if (path === '/admin/state' && method === 'GET') {
    ctx.driver.tick();
    return sendJson(res, 200, { model: ctx.model, config: ctx.config, simNowMs: ctx.driver.simNow(), ...ctx.engine.snapshot() });
  }
  return sendJson(res, 404, { detail: 'Not Found' });
}

function modelsBody(ctx: Context): object {
  return {
    object: 'list',
    data: [
      {
        id: ctx.model,
        object: 'model',
        created: ctx.created,
        owned_by: ctx.config.kind === 'llama.cpp' ? 'llamacpp' : 'vllm',
        root: ctx.model,
        parent: null,
        max_model_len: contextLimit(ctx.config),
        permission: [
          {
            id: `modelperm-${ctx.model}`,
            object: 'model_permission',
            created: ctx.created,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: '*',
            group: null,
            is_blocking: false,
          },
        ],
      },
    ],
  };
}

