// One simulated vLLM backend over plain node:http: the OpenAI surface (/v1/chat/completions, /v1/completions,
// /v1/models), /health, /metrics, and an admin surface for fault injection (/admin/faults, /admin/reset,
// /admin/state). Requests run through the pure engine model on the wall clock (EngineDriver); every time it
// reports (usage, histograms) is simulated time.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Engine, type EngineEvent } from './engine.ts';
import { EngineDriver } from './engine-driver.ts';
import { drawFaults, parseFaults, type Faults, type FaultsInput, type RequestFaults } from './faults.ts';
import { SimMetrics } from './metrics.ts';
import { parseSimRequest, RequestError, type SimRequest } from './openai-request.ts';
import { completeBody, deltaChunk, errorBody, idPrefix, roleChunk, sseData, usageChunk, usageOf, type ResponseMeta } from './openai-response.ts';
import { planOutput, type OutputModel } from './output-text.ts';
import { engineConfig, type EngineConfig } from './profiles.ts';
import { promptBlockHashes } from './tokenizer.ts';

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

const MAX_BODY_BYTES = 16 * 1024 * 1024;

interface Context {
  model: string;
  engine: Engine;
  driver: EngineDriver;
  config: EngineConfig;
  output: OutputModel;
  hashSeed: number;
  promptTokensDetails: boolean;
  faults: Faults;
  faultSeed: number;
  requestCount: number;
  metrics: SimMetrics;
  created: number;
  /** Replaces the faults (attached once the listener exists; the admin route calls it). */
  setFaults?: (input: FaultsInput) => Faults;
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
    route(ctx, req, res).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(String(err?.message ?? err), 'InternalServerError', 500));
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
  if (method === 'POST' && path === '/v1/chat/completions') return generate(ctx, 'chat', req, res);
  if (method === 'POST' && path === '/v1/completions') return generate(ctx, 'completions', req, res);
  if (method === 'GET' && (path === '/health' || path === '/ping')) return sendText(res, 200, '', 'text/plain');
  if (method === 'GET' && path === '/v1/models') return sendJson(res, 200, modelsBody(ctx));
  if (method === 'GET' && path === '/version') return sendJson(res, 200, { version: 'kvroute-sim' });
  if (method === 'GET' && path === '/metrics') {
    ctx.driver.tick();
    const text = ctx.metrics.render(ctx.engine.snapshot(), ctx.model, ctx.config.blockSizeTokens, ctx.config.enablePrefixCaching);
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
        owned_by: 'vllm',
        root: ctx.model,
        parent: null,
        max_model_len: Math.min(ctx.config.maxModelLen, ctx.config.capacityTokens),
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

/** One generation request: validation, faults, engine submission, streaming or whole response. */
async function generate(ctx: Context, endpoint: 'chat' | 'completions', req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req, res);
  if (body === undefined) return;
  let sim: SimRequest;
  try {
    sim = parseSimRequest(endpoint, body);
  } catch (err) {
    if (err instanceof RequestError) return sendError(res, err);
    throw err;
  }
  if (sim.model !== undefined && sim.model !== ctx.model) {
    return sendError(res, new RequestError(`The model \`${sim.model}\` does not exist.`, 404, 'NotFoundError', 'model'));
  }

  const faults = drawFaults(ctx.faults, ctx.faultSeed, ctx.requestCount++);
  if (faults.error) {
    return sendJson(res, faults.error.status, errorBody('Simulated engine failure (fault injection).', 'InternalServerError', faults.error.status));
  }
  if (faults.rateLimit) {
    res.setHeader('retry-after', String(faults.rateLimit.retryAfterSeconds));
    return sendJson(res, 429, errorBody('Rate limit reached (fault injection). Retry after the time in Retry-After.', 'requests', 'rate_limit_exceeded'));
  }

  const { tokens: promptTokens, blockHashes } = promptBlockHashes(sim.promptText, ctx.hashSeed, ctx.config.blockSizeTokens);
  const plan = planOutput(sim.promptText, ctx.output);
  const limit = Math.min(ctx.config.maxModelLen, ctx.config.capacityTokens);
  const requested = sim.maxTokens ?? Math.max(limit - promptTokens, 1);
  const maxTokens = sim.ignoreEos ? requested : Math.min(requested, plan.naturalTokens);
  const finishReason = sim.ignoreEos || plan.naturalTokens > requested ? 'length' : 'stop';
  const invalid = ctx.engine.validate({ promptTokens, maxTokens: sim.maxTokens ?? maxTokens });
  if (invalid) return sendError(res, new RequestError(invalid, 400, 'BadRequestError', null));

  const id = `${idPrefix(endpoint)}${randomUUID().replace(/-/g, '')}`;
  const meta: ResponseMeta = { id, created: Math.floor(Date.now() / 1000), model: ctx.model };
  const text = plan.text(maxTokens);
  const run = new RequestRun(ctx, sim, res, meta, faults, { id, promptTokens, blockHashes, maxTokens, finishReason, text });
  run.start();
}

interface RunPlan {
  id: string;
  promptTokens: number;
  blockHashes: number[];
  maxTokens: number;
  finishReason: 'stop' | 'length';
  text: string;
}

/** The life of one accepted request: engine events in, HTTP bytes out, with stall and die faults applied. */
class RequestRun {
  private arrival = 0;
  private ttftMs: number | undefined;
  private e2eMs: number | undefined;
  private cachedTokens = 0;
  /** Tokens generated by the engine so far, and tokens written to the client. */
  private generated = 0;
  private delivered = 0;
  /** Mid-stream stall: not yet, under way, or over. */
  private midStall: 'before' | 'stalled' | 'over' = 'before';
  private cancelTimer: (() => void) | undefined;
  private done = false;
  private finished = false;
  /** Settles when the last chunk written has been handed to the socket (so `die` loses no sent tokens). */
  private flushed: Promise<void> = Promise.resolve();
  private submitted = false;

  constructor(
    private readonly ctx: Context,
    private readonly sim: SimRequest,
    private readonly res: ServerResponse,
    private readonly meta: ResponseMeta,
    private readonly faults: RequestFaults,
    private readonly plan: RunPlan,
  ) {}

  start(): void {
    this.arrival = this.ctx.driver.simNow();
    this.res.on('close', () => {
      if (!this.done) this.abandon();
    });
    if (this.sim.stream) {
      this.ctx.driver.tick();
      this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...this.loadHeaders() });
      this.res.flushHeaders();
    }
    const stall = this.faults.stallBeforeFirstTokenMs;
    if (stall) this.cancelTimer = this.ctx.driver.at(this.arrival + stall, () => this.submit());
    else this.submit();
  }

  private submit(): void {
    this.cancelTimer = undefined;
    if (this.done) return;
    this.submitted = true;
    const p = this.plan;
    this.ctx.driver.submit({ id: p.id, blockHashes: p.blockHashes, promptTokens: p.promptTokens, maxTokens: p.maxTokens, finishReason: p.finishReason }, (ev) =>
      this.onEvent(ev),
    );
  }

  private onEvent(ev: EngineEvent): void {
    if (this.done) return;
    if (ev.kind === 'first_token') {
      this.ttftMs = ev.time - this.arrival;
      this.cachedTokens = ev.cachedTokens;
      this.generated = 1;
    } else if (ev.kind === 'tokens') {
      this.generated += ev.count;
    } else {
      if (ev.reason === 'abort') return;
      this.finished = true;
      this.e2eMs = ev.time - this.arrival;
      this.ctx.metrics.observeRequest(this.ttftMs, this.e2eMs, this.generated);
    }
    this.deliver();
  }

  /** Writes what the client may see now, honouring stall and die faults. */
  private deliver(): void {
    if (this.done || this.midStall === 'stalled') return;
    const stall = this.faults.stallMidStream;
    const die = this.faults.dieAfterTokens;
    while (this.delivered < this.generated) {
      if (die !== undefined && this.delivered >= die) return this.die();
      if (stall && this.delivered === stall.afterTokens && this.midStall === 'before') {
        this.midStall = 'stalled';
        this.cancelTimer = this.ctx.driver.at(this.ctx.driver.simNow() + stall.ms, () => {
          this.midStall = 'over';
          this.deliver();
        });
        return;
      }
      if (this.sim.stream) this.writeToken(this.delivered);
      this.delivered++;
    }
    if (die !== undefined && this.delivered >= die && !this.finished) return this.die();
    if (this.finished) this.complete();
  }

  private writeToken(i: number): void {
    const { plan, meta, sim } = this;
    if (i === 0 && sim.endpoint === 'chat') this.res.write(sseData(roleChunk(meta)));
    const last = i === plan.maxTokens - 1;
    const usage = sim.continuousUsage ? this.usage(i + 1) : undefined;
    const piece = plan.text.slice(i * 4, i * 4 + 4);
    const data = sseData(deltaChunk(sim.endpoint, meta, piece, last ? plan.finishReason : null, usage));
    this.flushed = new Promise((resolve) => this.res.write(data, () => resolve()));
  }

  private complete(): void {
    this.done = true;
    const { res, sim, meta, plan } = this;
    if (sim.stream) {
      if (sim.includeUsage) res.write(sseData(usageChunk(sim.endpoint, meta, this.usage(plan.maxTokens))));
      res.end(sseData('[DONE]'));
      return;
    }
    this.ctx.driver.tick();
    const body = completeBody(sim.endpoint, meta, plan.text, plan.finishReason, this.usage(plan.maxTokens));
    // Simulated timings of this request, for benchmarks and tests (a streaming client measures them itself).
    const timing = {
      'x-sim-ttft-ms': (this.ttftMs ?? 0).toFixed(3),
      'x-sim-e2e-ms': (this.e2eMs ?? 0).toFixed(3),
      'x-sim-cached-tokens': String(this.cachedTokens),
    };
    sendJson(res, 200, body, { ...this.loadHeaders(), ...timing });
  }

  /** Socket destroyed mid-response: no [DONE], no clean end (like a crashed engine process). */
  private die(): void {
    this.done = true;
    if (this.submitted && !this.finished) this.ctx.driver.abort(this.plan.id);
    const socket = this.res.socket;
    void this.flushed.then(() => {
      socket?.destroy();
      this.res.destroy();
    });
  }

  /** The client went away before the end: free the engine's slot (vLLM aborts the request). */
  private abandon(): void {
    this.done = true;
    this.cancelTimer?.();
    if (this.submitted && !this.finished) this.ctx.driver.abort(this.plan.id);
  }

  private usage(completionTokens: number) {
    return usageOf(this.plan.promptTokens, completionTokens, this.ctx.promptTokensDetails ? this.cachedTokens : undefined);
  }

  private loadHeaders(): Record<string, string> {
    const s = this.ctx.engine.snapshot();
    return { 'x-sim-running': String(s.running), 'x-sim-waiting': String(s.waiting), 'x-sim-kv-usage': s.kvUsage.toFixed(4) };
  }
}

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      sendError(res, new RequestError(`Request body larger than ${MAX_BODY_BYTES} bytes.`, 413, 'BadRequestError'));
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    sendError(res, new RequestError(`JSON decode error: ${(err as Error).message}`));
    return undefined;
  }
}

function sendError(res: ServerResponse, err: RequestError): void {
  sendJson(res, err.status, errorBody(err.message, err.type, err.status, err.param));
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
