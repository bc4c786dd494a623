// The inference hot path, independent of HTTP framework and runtime: authenticate, parse once, pick the arm and
// the backend, forward with failover, and hand back either a buffered JSON body or a chunk source for SSE.
// The Hono route (routes/openai.ts) and the Node fast path (src/runtimes/node.ts) both adapt this one function.
import type { AnalyticsEvent } from '../analytics/event.ts';
import type { DriftConfig } from '../config/drift.ts';
import { firstProblem, inferenceEndpoints, type InferenceBody, type InferenceKind } from '../api/openai-api.ts';
import { fastParse } from '../api/openai-fast-parse.ts';
import { errors, HttpError, toErrorResponse } from '../api/errors.ts';
import { decisionHeader, type Decision } from '../routing/decide.ts';
import type { RoutingInput, RoutingPolicy } from '../routing/policies/policy.ts';
import { shouldShadow } from '../experiments/assignment.ts';
import { canonicalLength, prefixHashes } from '../routing/prefix-hash.ts';
import { legFromSummary, skippedLeg, type LegOutcome } from '../experiments/shadow/leg.ts';
import type { ShadowLimiter } from '../experiments/shadow/limiter.ts';
import { ClientLinkedSource } from '../stream/client-linked.ts';
import { KeepaliveSource } from '../stream/keepalive.ts';
import { SseRelay, sseErrorEvent, type ChunkSource, type StreamOutcome } from '../stream/relay.ts';
import type { AbortLike } from '../util/abort.ts';
import { timeOrderedId } from '../util/ids.ts';
import { CompletionStreamObserver, summariseCompletionBody } from '../stream/sse.ts';
import { StreamTail } from '../stream/tail.ts';
import type { TenantDirectory } from '../tenants/directory.ts';
import type { BackendStates } from '../upstream/backend-state.ts';
import { normaliseUpstreamError } from '../upstream/error-body.ts';
import { forward, outcomeOfStatus, type AttemptRecord, type Forwarded } from '../upstream/forward.ts';
import { readAllText, type UpstreamClient } from '../upstream/types.ts';
import { chooseRoute } from '../experiments/choose-route.ts';
import { outcomeErrorClass, routerErrorClass } from './error-class.ts';
import { startShadow } from './shadow.ts';

export interface InferenceRequest {
  kind: InferenceKind;
  path: string;
  header(name: string): string | null;
  /**
   * Reads the body, rejecting with 413 past `limit` bytes and with 408 when it takes longer than `timeoutMs`. A body
   * that has already arrived may come back as it is, without a promise.
   */
  readBody(limit: number, timeoutMs: number): string | Promise<string>;
  /** Aborts when the client goes away. */
  signal: AbortLike;
}

export type InferenceResult =
  | { status: number; headers: Record<string, string>; body: string }
  | { status: number; headers: Record<string, string>; stream: ChunkSource };

/** Everything known about a finished request; turned into analytics events / drift features off the hot path. */
export interface RequestRecord {
  requestId: string;
  /** The router's own random id for this request: sampling (drift) keys on it, never on a client-chosen id. */
  samplingId: string;
  tenantId: string;
  keyId: string;
  kind: InferenceKind;
  model: string;
  body: InferenceBody;
  stream: boolean;
  status: number;
  /** Absent when the request failed before a backend answered (`error` says why). */
  decision?: Decision;
  /** What the pool's policy placed the request on: the policy hears the engine's cache receipt after the response. */
  placement?: { input: RoutingInput; policy: RoutingPolicy };
  attempts: AttemptRecord[];
  experiment: string;
  arm: string;
  shadowed: boolean;
  /** The tenant's drift settings at the time of the request (so after-response work needs no lookup). */
  drift: DriftConfig;
  startedAt: number;
  ttftMs: number;
  latencyMs: number;
  overheadMs: number;
  outcome: StreamOutcome | 'completed' | 'failed';
  /** Buffered JSON response text, or the tail of the SSE stream (holds usage and finish_reason). */
  responseText: string;
  /** The router's own error answer (before any backend byte reached the client). */
  error?: { status: number; code: string; message: string };
}

export interface InferenceDeps {
  directory: TenantDirectory;
  states: BackendStates;
  client: UpstreamClient;
  /** Monotonic milliseconds (performance.now). */
  now: () => number;
  /** Runs after the response (waitUntil on Workers). */
  defer: (p: Promise<unknown>) => void;
  /**
   * Told about every finished request, after its response. May return a promise (Workers hand it to waitUntil);
   * returning nothing lets a runtime batch the work off the request path (Node).
   */
  onRecord?: (rec: RequestRecord) => Promise<unknown> | void;
  /** Durable analytics path for shadow pair records; shadows run only when it and the limiter are present. */
  emit?: (events: AnalyticsEvent[]) => void | Promise<void>;
  shadowLimiter?: ShadowLimiter;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** The body of a request that failed before its body was parsed. */
const NO_BODY = { model: '', messages: [] } as unknown as InferenceBody;
const EMPTY: ArrayLike<number> = [];
/** What a stream's record keeps of its end: usage and finish_reason are in its last events. */
const STREAM_TAIL_BYTES = 16_384;
/** Stateless decoding of whole chunks (a stream keeps its own decoder). */
const utf8 = new TextDecoder();

/** The client's x-request-id when it is well formed (kept for correlation), else the router's own id. */
function requestIdOf(req: InferenceRequest, routerId: string): string {
  const incoming = req.header('x-request-id');
  return incoming && REQUEST_ID.test(incoming) ? incoming : routerId;
}

function parseBody(kind: InferenceKind, text: string): { body: InferenceBody; raw: Record<string, unknown> } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw errors.badJson((e as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw errors.badJson('the body must be a JSON object');
  // The common shapes are checked without zod (the same verdict and value: openai-fast-parse.ts); zod decides the rest.
  const fast = fastParse(kind, raw as Record<string, unknown>);
  if (fast) return { body: fast, raw: raw as Record<string, unknown> };
  const parsed = inferenceEndpoints[kind].schema.safeParse(raw);
  if (!parsed.success) {
    const p = firstProblem(parsed.error);
    throw errors.badField(p.param, p.message);
  }
  return { body: parsed.data, raw: raw as Record<string, unknown> };
}

function promptChars(kind: InferenceKind, body: InferenceBody): number {
  if (kind === 'responses' || kind === 'embeddings') return canonicalLength(body);
  if (kind === 'completions') {
    const p = (body as { prompt: unknown }).prompt;
    return typeof p === 'string' ? p.length : Array.isArray(p) ? p.length : 0;
  }
  let n = 0;
  for (const m of (body as { messages: { content?: unknown }[] }).messages) if (typeof m.content === 'string') n += m.content.length;
  return n;
}

const fmt = (ms: number) => ms.toFixed(2);
/** The board lookup's wait, part of the router's time (Server-Timing entry). */
const lookupTiming = (fwd: Forwarded) => (fwd.decision.lookupMs === undefined ? '' : `, lookup;dur=${fmt(fwd.decision.lookupMs)}`);

/** What the response-finishing step needs to know about the request. */
interface RequestContext {
  deps: InferenceDeps;
  kind: InferenceKind;
  requestId: string;
  samplingId: string;
  signal: AbortLike;
  startedAt: number;
  tenantId: string;
  keyId: string;
  body: InferenceBody;
  stream: boolean;
  idleMs: number;
  clientReadMs: number;
  experiment: string;
  arm: string;
  upstreamModel: string;
  drift: DriftConfig;
  /** Set when a shadow leg was started: receives the primary's outcome for the paired record. */
  reportPrimary: ((leg: LegOutcome) => void) | null;
  placement?: RequestRecord['placement'];
}

/** What the end of a request adds to its record (the rest comes from its context). */
type RecordEnd = Pick<RequestRecord, 'status' | 'decision' | 'attempts' | 'ttftMs' | 'latencyMs' | 'overheadMs' | 'outcome' | 'responseText' | 'error'>;

function emitRecord(ctx: RequestContext, end: RecordEnd) {
  const { deps } = ctx;
  if (!deps.onRecord) return;
  // Every field named (no spreads): one record per request, built once, always of the same shape.
  const full: RequestRecord = {
    requestId: ctx.requestId, samplingId: ctx.samplingId, tenantId: ctx.tenantId, keyId: ctx.keyId, kind: ctx.kind, model: ctx.body.model, body: ctx.body,
    stream: ctx.stream, status: end.status, decision: end.decision, placement: ctx.placement, attempts: end.attempts, experiment: ctx.experiment, arm: ctx.arm,
    shadowed: ctx.reportPrimary !== null, drift: ctx.drift, startedAt: ctx.startedAt, ttftMs: end.ttftMs, latencyMs: end.latencyMs, overheadMs: end.overheadMs,
    outcome: end.outcome, responseText: end.responseText, error: end.error,
  };
  const pending = deps.onRecord(full);
  if (!pending) return;
  try {
    deps.defer(pending);
  } catch {
    // Recorded from another request's context (an expired lease): that request's waitUntil is gone.
    pending.catch(() => {});
  }
}


/** The primary's facts for its shadow's paired record. */
function legFacts(fwd: Forwarded, ctx: RequestContext) {
  return { pool: fwd.decision.pool, backend: fwd.decision.backend.id, upstreamModel: ctx.upstreamModel, status: fwd.response.status, startedAt: fwd.dispatchedAt, stream: ctx.stream };
}

/** Turns a forwarded upstream response into the client's response: buffered JSON, or a relayed SSE stream. */
async function finish(fwd: Forwarded, ctx: RequestContext): Promise<InferenceResult> {
  const { deps, startedAt } = ctx;
  const res = fwd.response;
  const firstByteAt = deps.now();
  const contentType = res.header('content-type') ?? 'application/json';
  const headers: Record<string, string> = {
    'content-type': contentType,
    'x-request-id': ctx.requestId,
    'x-kvroute-backend': fwd.decision.backend.id,
    'x-kvroute-decision': decisionHeader(fwd.decision),
  };
  if (ctx.experiment) headers['x-kvroute-arm'] = `${ctx.experiment}:${ctx.arm}`;
  const ttftMs = firstByteAt - startedAt;

  if (res.status >= 400 || !contentType.includes('text/event-stream')) {
    let out: string;
    try {
      fwd.onAbandon(() => res.body.cancel());
      // A body whose declared length came whole with the first chunk is complete: no further read (on Workers one
      // more read of the reader, only to hear `done`, cost as much as the rest of the body's handling) and no idle
      // timer. The runtime's HTTP client has the whole fixed-length body, so the connection is reusable as it is.
      // Not for an encoded body: fetch decompresses it, and the declared length is the compressed one.
      const first = fwd.first;
      const whole = first !== null && Number(res.header('content-length')) === first.byteLength && !res.header('content-encoding');
      if (whole) out = utf8.decode(first);
      else {
        const rest = await readAllText(res.body, undefined, ctx.idleMs, fwd.renew);
        out = first ? utf8.decode(first) + rest : rest;
      }
    } catch (e) {
      fwd.settle('failure');
      ctx.reportPrimary?.(skippedLeg(fwd.decision.pool, ctx.upstreamModel, 'reset', (e as Error).message));
      throw errors.upstreamFailed(`backend '${fwd.decision.backend.id}' broke while sending its response: ${(e as Error).message}`);
    }
    fwd.settle(outcomeOfStatus(res.status));
    // One error shape for every answer: a backend's own error body becomes OpenAI's (status and message kept).
    if (res.status >= 400) {
      out = normaliseUpstreamError(res.status, out);
      headers['content-type'] = 'application/json';
    }
    const end = deps.now();
    const upstream = fwd.upstreamMs + (end - firstByteAt);
    const overhead = end - startedAt - upstream;
    headers['x-kvroute-overhead-ms'] = fmt(overhead);
    headers['server-timing'] = `router;dur=${fmt(overhead)}${lookupTiming(fwd)}, upstream;dur=${fmt(upstream)}`;
    emitRecord(ctx, { status: res.status, decision: fwd.decision, attempts: fwd.attempts, ttftMs, latencyMs: end - startedAt, overheadMs: overhead, outcome: 'completed', responseText: out, error: undefined });
    ctx.reportPrimary?.(legFromSummary({ ...legFacts(fwd, ctx), endedAt: end, summary: { ...summariseCompletionBody(out), firstByteMs: firstByteAt - fwd.dispatchedAt } }));
    return { status: res.status, headers, body: out };
  }

  const overhead = firstByteAt - startedAt - fwd.upstreamMs;
  headers['x-kvroute-overhead-ms'] = fmt(overhead);
  headers['server-timing'] = `router;dur=${fmt(overhead)}${lookupTiming(fwd)}, upstream-ttfb;dur=${fmt(fwd.upstreamMs)}`;
  headers['cache-control'] = 'no-cache';
  // Keep only the stream's tail for the record (usage and finish_reason arrive last); a shadowed request also
  // collects the full output text for the comparison.
  const tail = deps.onRecord ? new StreamTail(STREAM_TAIL_BYTES) : null;
  const observer = ctx.reportPrimary ? new CompletionStreamObserver({ startedAt: fwd.dispatchedAt, collectText: true }) : null;
  const relay = new SseRelay(fwd.first, res.body, {
    idleMs: ctx.idleMs,
    clientMs: ctx.clientReadMs,
    endLines: inferenceEndpoints[ctx.kind].endLines,
    // Methods, not arrow properties: a named arrow costs a rename per request under the bundlers' keepNames.
    observe(chunk) {
      fwd.renew();
      observer?.push(chunk, deps.now());
      tail?.push(chunk);
    },
    now: deps.now,
    onEnd(outcome, detail) {
      // A stream that broke, stalled or ended early after its first byte is an inference failure of the backend.
      fwd.settle(outcome === 'completed' ? outcomeOfStatus(res.status) : outcome === 'client_abort' ? 'neutral' : 'failure');
      if (outcome === 'client_abort') fwd.controller.abort();
      const end = deps.now();
      emitRecord(ctx, { status: res.status, decision: fwd.decision, attempts: fwd.attempts, ttftMs, latencyMs: end - startedAt, overheadMs: overhead, outcome, responseText: tail ? tail.text() : '', error: undefined });
      if (observer) {
        const cls = outcomeErrorClass(outcome);
        ctx.reportPrimary!(legFromSummary({ ...legFacts(fwd, ctx), endedAt: end, summary: observer.end(end), ...(cls ? { errorClass: cls, errorMessage: detail ?? outcome } : {}) }));
      }
    },
  });
  fwd.onAbandon(() => relay.cancel());
  return { status: res.status, headers, stream: relay };
}

const KEEPALIVE_DUE = Symbol('keepalive-due');

/** The forward's result if it settles within `ms` (rejections propagate), else KEEPALIVE_DUE. */
function settleWithin(forwarded: Promise<Forwarded>, ms: number): Promise<Forwarded | typeof KEEPALIVE_DUE> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const due = new Promise<typeof KEEPALIVE_DUE>((resolve) => (timer = setTimeout(() => resolve(KEEPALIVE_DUE), ms)));
  return Promise.race([forwarded, due]).finally(() => clearTimeout(timer));
}

/**
 * A stream ends for the router when the client goes away, whether or not the runtime cancels the response body
 * (workerd may drop it without calling cancel): the request's signal cancels the source, which releases the
 * backend and records the request.
 */
function cancelOnAbort(r: InferenceResult, signal: AbortLike): InferenceResult {
  if (!('stream' in r)) return r;
  if (signal.aborted) {
    r.stream.cancel();
    return r;
  }
  return { status: r.status, headers: r.headers, stream: new ClientLinkedSource(r.stream, signal) };
}

function errorEventOf(err: unknown): Uint8Array {
  const { body } = toErrorResponse(err);
  return sseErrorEvent(body.error.message, body.error.code ?? 'upstream_error', body.error.type);
}

/** Records a request the router answered with an error after authentication (no backend byte was relayed). */
function recordFailure(ctx: RequestContext, err: unknown): void {
  const { status, body } = toErrorResponse(err);
  const now = ctx.deps.now();
  emitRecord(ctx, {
    status, decision: undefined, attempts: [], ttftMs: now - ctx.startedAt, latencyMs: now - ctx.startedAt, overheadMs: 0, outcome: 'failed', responseText: '',
    error: { status, code: body.error.code ?? '', message: body.error.message },
  });
  ctx.reportPrimary?.(skippedLeg('', ctx.upstreamModel, routerErrorClass(status, body.error.code), body.error.message));
}

export async function handleInference(req: InferenceRequest, deps: InferenceDeps): Promise<InferenceResult> {
  const startedAt = deps.now();
  // Random, and time-ordered: the analytics stores index events by this id (the request id when the client sent none).
  const samplingId = timeOrderedId();
  const requestId = requestIdOf(req, samplingId);
  let ctx: RequestContext | null = null;
  try {
    const authorization = req.header('authorization');
    const principal = deps.directory.cached(authorization) ?? (await deps.directory.authenticate(authorization));
    const tenant = principal.tenant;
    // From here on the request belongs to a tenant: whatever happens to it is recorded (filled in as it is known).
    ctx = {
      deps, kind: req.kind, requestId, samplingId, signal: req.signal, startedAt, tenantId: tenant.tenantId, keyId: principal.keyId, body: NO_BODY,
      stream: false, idleMs: tenant.config.timeouts.idleMs, clientReadMs: tenant.config.timeouts.clientReadMs, experiment: '', arm: '', upstreamModel: '', drift: tenant.config.drift, reportPrimary: null,
      placement: undefined,
    };
    const read = req.readBody(tenant.config.limits.maxBodyBytes, tenant.config.timeouts.requestBodyMs);
    const text = typeof read === 'string' ? read : await read;
    const { body, raw } = parseBody(req.kind, text);
    ctx.body = body;
    const choice = chooseRoute(tenant, body.model, {
      header(name) {
        return req.header(name); // `req` may be a class instance: called on it, so its `this` holds
      },
      bodyUser: body.user,
      apiKeyId: principal.keyId,
      requestId: samplingId,
    });
    if (!choice) throw errors.unknownModel(body.model);
    const { route } = choice;
    const stream = body.stream === true;
    // Forward the client's bytes as they came; re-serialise only when the model name must change.
    const upstreamBody = route.upstreamModel === body.model ? text : JSON.stringify({ ...raw, model: route.upstreamModel });
    const aff = route.pool.affinity;
    const prefix = aff.enabled ? prefixHashes(body, { model: route.upstreamModel, blockChars: aff.blockChars, maxBlocks: aff.maxBlocks }) : null;
    const chars = prefix ? prefix.promptChars : promptChars(req.kind, body);
    const routing = { prefixHashes: prefix ? prefix.hashes : EMPTY, promptChars: chars, blockChars: aff.blockChars, model: route.upstreamModel, now: startedAt };

    let reportPrimary: RequestContext['reportPrimary'] = null;
    const exp = choice.experiment;
    if (exp?.experiment.shadow && deps.emit && deps.shadowLimiter && inferenceEndpoints[req.kind].shadow) {
      const plan = shouldShadow(exp.experiment, samplingId);
      if (plan.shadow) {
        reportPrimary = startShadow(
          { client: deps.client, states: deps.states, now: deps.now, defer: deps.defer, limiter: deps.shadowLimiter, emit: deps.emit },
          { plan, experiment: exp, arm: choice.arm, route, routing, tenantId: tenant.tenantId, requestId, path: req.path, body, raw, promptChars: chars },
        );
      }
    }
    ctx.stream = stream;
    ctx.experiment = choice.experimentName;
    ctx.arm = choice.arm;
    ctx.upstreamModel = route.upstreamModel;
    ctx.reportPrimary = reportPrimary;
    ctx.placement = { input: routing, policy: route.pool.policy };
    const forwarded = forward(
      {
        route,
        routing,
        config: tenant.config,
        path: req.path,
        body: upstreamBody,
        headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json', 'x-request-id': requestId },
        clientSignal: req.signal,
        now: deps.now,
      },
      { client: deps.client, states: deps.states },
    );
    const keepaliveMs = tenant.config.stream.keepaliveMs;
    if (stream && keepaliveMs > 0) {
      // Commit the SSE response only when the first keep-alive is due: a backend that answers (or fails) sooner
      // gives the client its real status and headers. After that, comments keep proxies from timing out, and
      // failover still works until the first event.
      const settled = await settleWithin(forwarded, keepaliveMs);
      if (settled !== KEEPALIVE_DUE) return cancelOnAbort(await finish(settled, ctx), req.signal);
      const c = ctx;
      const source = forwarded
        .then((fwd) => finish(fwd, c))
        .then((r) => {
          if ('body' in r) throw errors.upstreamFailed(`the backend answered ${r.status} without a stream: ${r.body.slice(0, 300)}`);
          return r.stream;
        })
        .catch((err: unknown) => {
          recordFailure(c, err);
          throw err;
        });
      const headers: Record<string, string> = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': requestId };
      if (c.experiment) headers['x-kvroute-arm'] = `${c.experiment}:${c.arm}`;
      return cancelOnAbort({ status: 200, headers, stream: new KeepaliveSource(source, keepaliveMs, errorEventOf, true) }, req.signal);
    }
    return cancelOnAbort(await finish(await forwarded, ctx), req.signal);
  } catch (err) {
    if (ctx) recordFailure(ctx, err);
    if (err instanceof HttpError) err.headers['x-request-id'] = requestId;
    throw err;
  }
}
