// The inference hot path, independent of HTTP framework and runtime: authenticate, parse once, pick a backend,
// forward with failover, and hand back either a buffered JSON body or a chunk source for SSE.
// The Hono route (routes/openai.ts) and the Node fast path (src/node.ts) both adapt this one function.
import { chatCompletionBody, completionBody, firstProblem, type InferenceBody, type InferenceKind } from '../config/openai-api.ts';
import { errors, HttpError, toErrorResponse } from '../errors.ts';
import { decisionHeader, type Decision } from '../routing/decide.ts';
import { prefixHashes } from '../routing/prefix-hash.ts';
import { KeepaliveSource } from '../stream/keepalive.ts';
import { SseRelay, sseErrorEvent, type ChunkSource, type StreamOutcome } from '../stream/relay.ts';
import type { TenantDirectory } from '../tenants/directory.ts';
import type { BackendState, BackendStates } from '../upstream/backend-state.ts';
import { forward, type AttemptRecord, type Forwarded } from '../upstream/forward.ts';
import { readAllText, type UpstreamClient, type UpstreamResponse } from '../upstream/types.ts';

export interface InferenceRequest {
  kind: InferenceKind;
  path: string;
  header(name: string): string | null;
  /** Reads the body, rejecting with 413 past `limit` bytes. */
  readBody(limit: number): Promise<string>;
  signal: AbortSignal;
}

export type InferenceResult =
  | { status: number; headers: Record<string, string>; body: string }
  | { status: number; headers: Record<string, string>; stream: ChunkSource };

/** Everything known about a finished request; turned into analytics events / drift features off the hot path. */
export interface RequestRecord {
  requestId: string;
  tenantId: string;
  keyId: string;
  kind: InferenceKind;
  model: string;
  body: InferenceBody;
  stream: boolean;
  status: number;
  decision: Decision;
  attempts: AttemptRecord[];
  startedAt: number;
  ttftMs: number;
  latencyMs: number;
  overheadMs: number;
  outcome: StreamOutcome | 'completed';
  /** Buffered JSON response text, or the tail of the SSE stream (holds usage and finish_reason). */
  responseText: string;
}

export interface InferenceDeps {
  directory: TenantDirectory;
  states: BackendStates;
  client: UpstreamClient;
  /** Monotonic milliseconds (performance.now). */
  now: () => number;
  /** Runs after the response (waitUntil on Workers). */
  defer: (p: Promise<unknown>) => void;
  onResponseHeaders?: (state: BackendState, res: UpstreamResponse, now: number) => void;
  onRecord?: (rec: RequestRecord) => void | Promise<void>;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const EMPTY: ArrayLike<number> = [];
const STREAM_TAIL_CHARS = 8192;

function requestIdOf(req: InferenceRequest): string {
  const incoming = req.header('x-request-id');
  return incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

function parseBody(kind: InferenceKind, text: string): { body: InferenceBody; raw: Record<string, unknown> } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw errors.badJson((e as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw errors.badJson('the body must be a JSON object');
  const parsed = (kind === 'chat' ? chatCompletionBody : completionBody).safeParse(raw);
  if (!parsed.success) {
    const p = firstProblem(parsed.error);
    throw errors.badField(p.param, p.message);
  }
  return { body: parsed.data as InferenceBody, raw: raw as Record<string, unknown> };
}

function promptChars(kind: InferenceKind, body: InferenceBody): number {
  if (kind === 'completions') {
    const p = (body as { prompt: unknown }).prompt;
    return typeof p === 'string' ? p.length : Array.isArray(p) ? p.length : 0;
  }
  let n = 0;
  for (const m of (body as { messages: { content?: unknown }[] }).messages) if (typeof m.content === 'string') n += m.content.length;
  return n;
}

const fmt = (ms: number) => ms.toFixed(2);

/** What the response-finishing step needs to know about the request. */
interface RequestContext {
  deps: InferenceDeps;
  kind: InferenceKind;
  requestId: string;
  startedAt: number;
  tenantId: string;
  keyId: string;
  body: InferenceBody;
  stream: boolean;
  idleMs: number;
}

function recorder(ctx: RequestContext, fwd: Forwarded, firstByteAt: number) {
  return (status: number, outcome: RequestRecord['outcome'], responseText: string, endAt: number, overheadMs: number) => {
    const { deps } = ctx;
    if (!deps.onRecord) return;
    const rec: RequestRecord = {
      requestId: ctx.requestId, tenantId: ctx.tenantId, keyId: ctx.keyId, kind: ctx.kind, model: ctx.body.model, body: ctx.body,
      stream: ctx.stream, status, decision: fwd.decision, attempts: fwd.attempts, startedAt: ctx.startedAt,
      ttftMs: firstByteAt - ctx.startedAt, latencyMs: endAt - ctx.startedAt, overheadMs, outcome, responseText,
    };
    deps.defer(Promise.resolve().then(() => deps.onRecord!(rec)));
  };
}

/** Turns a forwarded upstream response into the client's response: buffered JSON, or a relayed SSE stream. */
async function finish(fwd: Forwarded, ctx: RequestContext): Promise<InferenceResult> {
  const { deps, startedAt } = ctx;
  const res = fwd.response;
  const firstByteAt = deps.now();
  const record = recorder(ctx, fwd, firstByteAt);
  const contentType = res.header('content-type') ?? 'application/json';
  const headers: Record<string, string> = {
    'content-type': contentType,
    'x-request-id': ctx.requestId,
    'x-kvroute-backend': fwd.decision.backend.id,
    'x-kvroute-decision': decisionHeader(fwd.decision),
  };

  if (!contentType.includes('text/event-stream')) {
    let out: string;
    try {
      const rest = await readAllText(res.body);
      out = fwd.first ? new TextDecoder().decode(fwd.first) + rest : rest;
    } catch (e) {
      throw errors.upstreamFailed(`backend '${fwd.decision.backend.id}' broke while sending its response: ${(e as Error).message}`);
    } finally {
      fwd.release();
    }
    const end = deps.now();
    const upstream = fwd.upstreamMs + (end - firstByteAt);
    const overhead = end - startedAt - upstream;
    headers['x-kvroute-overhead-ms'] = fmt(overhead);
    headers['server-timing'] = `router;dur=${fmt(overhead)}, upstream;dur=${fmt(upstream)}`;
    record(res.status, 'completed', out, end, overhead);
    return { status: res.status, headers, body: out };
  }

  const overhead = firstByteAt - startedAt - fwd.upstreamMs;
  headers['x-kvroute-overhead-ms'] = fmt(overhead);
  headers['server-timing'] = `router;dur=${fmt(overhead)}, upstream-ttfb;dur=${fmt(fwd.upstreamMs)}`;
  headers['cache-control'] = 'no-cache';
  // Keep only the stream's tail for the record: usage and finish_reason arrive last.
  let tail = '';
  const decoder = new TextDecoder();
  const relay = new SseRelay(fwd.first, res.body, {
    idleMs: ctx.idleMs,
    observe: deps.onRecord
      ? (chunk) => {
          tail += decoder.decode(chunk, { stream: true });
          if (tail.length > 2 * STREAM_TAIL_CHARS) tail = tail.slice(-STREAM_TAIL_CHARS);
        }
      : undefined,
    onEnd: (outcome) => {
      fwd.release();
      if (outcome === 'client_abort') fwd.controller.abort();
      record(res.status, outcome, tail, deps.now(), overhead);
    },
  });
  return { status: res.status, headers, stream: relay };
}

function errorEventOf(err: unknown): Uint8Array {
  const { body } = toErrorResponse(err);
  return sseErrorEvent(body.error.message, body.error.code ?? 'upstream_error', body.error.type);
}

export async function handleInference(req: InferenceRequest, deps: InferenceDeps): Promise<InferenceResult> {
  const startedAt = deps.now();
  const requestId = requestIdOf(req);
  try {
    const principal = await deps.directory.authenticate(req.header('authorization'));
    const tenant = principal.tenant;
    const text = await req.readBody(tenant.config.limits.maxBodyBytes);
    const { body, raw } = parseBody(req.kind, text);
    const route = tenant.models.get(body.model);
    if (!route) throw errors.unknownModel(body.model);
    const stream = body.stream === true;
    // Forward the client's bytes as they came; re-serialise only when the model name must change.
    const upstreamBody = route.upstreamModel === body.model ? text : JSON.stringify({ ...raw, model: route.upstreamModel });
    const aff = route.pool.affinity;
    const prefix = aff.enabled ? prefixHashes(body, { model: route.upstreamModel, blockChars: aff.blockChars, maxBlocks: aff.maxBlocks }) : null;
    const forwarded = forward(
      {
        route,
        routing: {
          prefixHashes: prefix ? prefix.hashes : EMPTY,
          promptChars: prefix ? prefix.promptChars : promptChars(req.kind, body),
          model: route.upstreamModel,
          now: startedAt,
        },
        config: tenant.config,
        path: req.path,
        body: upstreamBody,
        headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json', 'x-request-id': requestId },
        clientSignal: req.signal,
        now: deps.now,
      },
      { client: deps.client, states: deps.states, onResponseHeaders: deps.onResponseHeaders },
    );
    const ctx: RequestContext = {
      deps, kind: req.kind, requestId, startedAt, tenantId: tenant.tenantId, keyId: principal.keyId, body, stream,
      idleMs: tenant.config.timeouts.idleMs,
    };
    const keepaliveMs = tenant.config.stream.keepaliveMs;
    if (stream && keepaliveMs > 0) {
      // Commit the SSE response now and keep the connection warm; failover still works until the first event.
      const source = forwarded
        .then((fwd) => finish(fwd, ctx))
        .then((r) => {
          if ('body' in r) throw errors.upstreamFailed(`the backend answered ${r.status} without a stream: ${r.body.slice(0, 300)}`);
          return r.stream;
        });
      return {
        status: 200,
        headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': requestId },
        stream: new KeepaliveSource(source, keepaliveMs, errorEventOf),
      };
    }
    return await finish(await forwarded, ctx);
  } catch (err) {
    if (err instanceof HttpError) err.headers['x-request-id'] = requestId;
    throw err;
  }
}
