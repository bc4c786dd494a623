// THE analytics event schema: one shape for per-request events (`type: 'request'`), paired shadow records
// (`type: 'shadow_pair'`) and drift status changes (`type: 'drift_status'`). Every sink stores the same columns;
// a pair row uses the base columns for the primary leg and the `cand_*` columns for the candidate leg (the
// shadow, or the second primary of a noise pair); a drift row uses tenant/model/arm/ts and the `drift_*` columns.
// Events are idempotent by `event_id`: every sink ignores or collapses a second write of the same id.
import { z } from 'zod';
import { MAX_FINISH_REASON_CHARS } from '../stream/completion-facts.ts';
import { timeOrderedId } from '../util/ids.ts';

/** 2: adds `drift_status` events and the `drift_*` columns (migrations add them to v1 tables). */
export const EVENT_SCHEMA_VERSION = 2;

/** Why a leg failed, coarse enough to group by. '' means it did not fail. */
export const errorClassSchema = z.enum([
  '',
  'connect', // could not connect / DNS / refused
  'timeout', // no response or no end of stream in time
  'reset', // connection broke mid-response
  'aborted', // client went away (primary) or the leg was cancelled
  'upstream_4xx',
  'upstream_5xx',
  'truncated', // stream ended without [DONE] or a finish_reason
  'stream_error', // an {"error": ...} event inside a 200 stream
  'no_backend', // nothing eligible to send to
  'rate_limited', // every backend answered 429
  'invalid_request', // the router refused the request itself (bad body, unknown model, too large, too slow)
  'skipped_concurrency', // shadow not sent: concurrency cap reached
  'skipped_budget', // shadow not sent: daily token budget exhausted
  'internal',
]);
export type ErrorClass = z.infer<typeof errorClassSchema>;

/** Longest text of the columns whose values come from clients or backends (event builders clip to these). */
export const TEXT_MAX = { model: 256, error_message: 1000, decision: 512, finish_reason: MAX_FINISH_REASON_CHARS } as const;
/** The count columns are UInt32: a larger value would wrap silently in ClickHouse. */
export const COUNT_MAX = 2 ** 32 - 1;

const ms = z.number().min(0).finite();
const count = z.number().int().min(0).max(COUNT_MAX);
const str = (max: number) => z.string().max(max);

/** One leg of a request as observed by the router. */
export const legSchema = z.object({
  pool: str(128).default(''),
  backend: str(256).default(''),
  /** Model name as sent to the backend. */
  upstream_model: str(TEXT_MAX.model).default(''),
  /** HTTP status from the backend (0 when none arrived). */
  status: z.number().int().min(0).max(999).default(0),
  error_class: errorClassSchema.default(''),
  error_message: str(TEXT_MAX.error_message).default(''),
  ttft_ms: ms.nullable().default(null),
  latency_ms: ms.nullable().default(null),
  prompt_tokens: count.default(0),
  completion_tokens: count.default(0),
  cached_tokens: count.default(0),
  finish_reason: str(TEXT_MAX.finish_reason).default(''),
});
export type Leg = z.infer<typeof legSchema>;

const baseSchema = z.object({
  event_id: z.uuid(),
  /** Event time, ms since the epoch (the request's start for request events, the pair's completion for pairs). */
  ts: z.number().int().min(0),
  tenant: str(128),
  request_id: str(128),
  /** Shared by a request event and its shadow pair(s). */
  correlation_id: str(128),
  /** Public model name the client asked for. */
  model: str(TEXT_MAX.model),
  experiment: str(64).default(''),
  arm: str(64).default(''),
  stream: z.boolean().default(false),
});

export const requestEventSchema = baseSchema.extend({
  type: z.literal('request'),
  ...legSchema.shape,
  /** Compact routing decision, e.g. "pool=gpu-a;backend=b2;policy=least-loaded;reason=affinity;attempt=1". */
  decision: str(TEXT_MAX.decision).default(''),
  /** Time the router itself added (total minus upstream), ms. */
  router_overhead_ms: ms.nullable().default(null),
  /** The request was sampled for a shadow leg. */
  shadowed: z.boolean().default(false),
});

export const pairKindSchema = z.enum(['shadow', 'noise']);

export const shadowPairSchema = baseSchema.extend({
  type: z.literal('shadow_pair'),
  /** 'shadow': candidate = shadow target; 'noise': candidate = a second primary leg (Diffy noise floor). */
  pair_kind: pairKindSchema,
  /** Primary leg. */
  ...legSchema.shape,
  cand: legSchema,
  exact_match: z.boolean(),
  /** Word-multiset Jaccard similarity, see src/experiments/shadow/compare.ts; null when either leg failed. */
  similarity: z.number().min(0).max(1).nullable(),
  /** Candidate chars / primary chars; null when not defined. */
  length_ratio: z.number().min(0).nullable(),
  finish_agree: z.boolean(),
  /** Both legs produced a complete answer, so the comparison fields mean something. */
  comparable: z.boolean(),
});

/** Same values as DriftStatus in src/drift/psi.ts (kept literal here: the schema is the contract). */
export const driftLevelSchema = z.enum(['insufficient_data', 'none', 'minor', 'major']);

/** One feature's drift status change on the alert window (src/drift/alerts.ts DriftStatusRow). */
export const driftFieldsSchema = z.object({
  feature: str(64),
  /** Window name, e.g. '5m'. */
  window: str(32),
  window_start: z.number().int().min(0),
  status: driftLevelSchema,
  /** '' for the first status seen for this (model, arm, feature). */
  previous: z.union([driftLevelSchema, z.literal('')]).default(''),
  psi: z.number().finite().nullable(),
  crit: z.number().finite().nullable().default(null),
  n: count,
  m: count,
  /** Frozen baseline version, or 'trailing' for the rolling baseline. */
  baseline: str(32),
});

export const driftStatusEventSchema = baseSchema.extend({
  type: z.literal('drift_status'),
  /** Not tied to a request: request_id and correlation_id stay ''. */
  request_id: str(128).default(''),
  correlation_id: str(128).default(''),
  drift: driftFieldsSchema,
});

export const analyticsEventSchema = z.discriminatedUnion('type', [requestEventSchema, shadowPairSchema, driftStatusEventSchema]);

export type RequestEvent = z.output<typeof requestEventSchema>;
export type ShadowPairEvent = z.output<typeof shadowPairSchema>;
export type DriftStatusEvent = z.output<typeof driftStatusEventSchema>;
export type AnalyticsEvent = z.output<typeof analyticsEventSchema>;
export type AnalyticsEventInput = z.input<typeof analyticsEventSchema>;

/** A fresh event id, time-ordered (src/util/ids.ts): stores keyed by event_id add each event at the end. */
export function newEventId(): string {
  return timeOrderedId();
}

// ---- Row mapping (ClickHouse and SQLite share the column list) -----------------------------------------------

/** Column names in table order; the migrations and both SQL sinks use this list. */
export const EVENT_COLUMNS = [
  'event_id', 'type', 'ts_ms', 'tenant', 'request_id', 'correlation_id', 'model', 'experiment', 'arm', 'stream',
  'pool', 'backend', 'upstream_model', 'status', 'error_class', 'error_message', 'ttft_ms', 'latency_ms',
  'prompt_tokens', 'completion_tokens', 'cached_tokens', 'finish_reason', 'decision', 'router_overhead_ms',
  'shadowed', 'pair_kind', 'cand_pool', 'cand_backend', 'cand_upstream_model', 'cand_status', 'cand_error_class',
  'cand_error_message', 'cand_ttft_ms', 'cand_latency_ms', 'cand_prompt_tokens', 'cand_completion_tokens',
  'cand_cached_tokens', 'cand_finish_reason', 'exact_match', 'similarity', 'length_ratio', 'finish_agree',
  'comparable', 'schema_version',
  // v2: drift_status events (appended, so v1 tables gain them by ALTER ... ADD COLUMN in the same order)
  'drift_feature', 'drift_window', 'drift_window_start_ms', 'drift_status', 'drift_previous', 'drift_psi',
  'drift_crit', 'drift_n', 'drift_m', 'drift_baseline',
] as const;
export type EventColumn = (typeof EVENT_COLUMNS)[number];

/** The columns only a shadow pair fills: its candidate leg and the comparison. */
const PAIR_ONLY = (c: EventColumn) => c.startsWith('cand_') || ['pair_kind', 'exact_match', 'similarity', 'length_ratio', 'finish_agree', 'comparable'].includes(c);
/** The columns only a request event fills. */
const REQUEST_ONLY = (c: EventColumn) => c === 'decision' || c === 'router_overhead_ms' || c === 'shadowed';
/** The primary leg's columns: request and pair events fill them, drift events do not. */
const LEG = (c: EventColumn) => c in legSchema.shape;
const DRIFT_ONLY = (c: EventColumn) => c.startsWith('drift_');

/**
 * The columns each type of event fills; toRow writes the rest as the column's default (''/0/null). A store that
 * takes defaults for missing columns (SQLite) is given only these: a request event binds 26 values, not 54.
 */
export const COLUMNS_BY_TYPE: Record<AnalyticsEvent['type'], readonly EventColumn[]> = {
  request: EVENT_COLUMNS.filter((c) => !PAIR_ONLY(c) && !DRIFT_ONLY(c)),
  shadow_pair: EVENT_COLUMNS.filter((c) => !REQUEST_ONLY(c) && !DRIFT_ONLY(c)),
  drift_status: EVENT_COLUMNS.filter((c) => !PAIR_ONLY(c) && !REQUEST_ONLY(c) && !LEG(c)),
};
export type EventRow = Record<EventColumn, string | number | null>;

const b = (x: boolean) => (x ? 1 : 0);
const NO_LEG: Leg = legSchema.parse({});

/** Flattens an event into one row: booleans as 0/1, fields the event's type lacks as ''/0/null. */
export function toRow(e: AnalyticsEvent): EventRow {
  const pair = e.type === 'shadow_pair' ? e : null;
  const req = e.type === 'request' ? e : null;
  const drift = e.type === 'drift_status' ? e.drift : null;
  const leg: Leg = e.type === 'drift_status' ? NO_LEG : e;
  const cand = pair?.cand;
  return {
    event_id: e.event_id,
    type: e.type,
    ts_ms: e.ts,
    tenant: e.tenant,
    request_id: e.request_id,
    correlation_id: e.correlation_id,
    model: e.model,
    experiment: e.experiment,
    arm: e.arm,
    stream: b(e.stream),
    pool: leg.pool,
    backend: leg.backend,
    upstream_model: leg.upstream_model,
    status: leg.status,
    error_class: leg.error_class,
    error_message: leg.error_message,
    ttft_ms: leg.ttft_ms,
    latency_ms: leg.latency_ms,
    prompt_tokens: leg.prompt_tokens,
    completion_tokens: leg.completion_tokens,
    cached_tokens: leg.cached_tokens,
    finish_reason: leg.finish_reason,
    decision: req?.decision ?? '',
    router_overhead_ms: req?.router_overhead_ms ?? null,
    shadowed: b(req?.shadowed ?? false),
    pair_kind: pair?.pair_kind ?? '',
    cand_pool: cand?.pool ?? '',
    cand_backend: cand?.backend ?? '',
    cand_upstream_model: cand?.upstream_model ?? '',
    cand_status: cand?.status ?? 0,
    cand_error_class: cand?.error_class ?? '',
    cand_error_message: cand?.error_message ?? '',
    cand_ttft_ms: cand?.ttft_ms ?? null,
    cand_latency_ms: cand?.latency_ms ?? null,
    cand_prompt_tokens: cand?.prompt_tokens ?? 0,
    cand_completion_tokens: cand?.completion_tokens ?? 0,
    cand_cached_tokens: cand?.cached_tokens ?? 0,
    cand_finish_reason: cand?.finish_reason ?? '',
    exact_match: pair ? b(pair.exact_match) : null,
    similarity: pair?.similarity ?? null,
    length_ratio: pair?.length_ratio ?? null,
    finish_agree: pair ? b(pair.finish_agree) : null,
    comparable: pair ? b(pair.comparable) : null,
    schema_version: EVENT_SCHEMA_VERSION,
    drift_feature: drift?.feature ?? '',
    drift_window: drift?.window ?? '',
    drift_window_start_ms: drift?.window_start ?? 0,
    drift_status: drift?.status ?? '',
    drift_previous: drift?.previous ?? '',
    drift_psi: drift?.psi ?? null,
    drift_crit: drift?.crit ?? null,
    drift_n: drift?.n ?? 0,
    drift_m: drift?.m ?? 0,
    drift_baseline: drift?.baseline ?? '',
  };
}

// ---- Workers Analytics Engine data point (aggregate counters only) -------------------------------------------

export interface WaeDataPoint {
  indexes: [string];
  blobs: string[];
  doubles: number[];
}

/** WAE limits (gateways.md 8.1): 1 index <= 96 bytes, <= 20 blobs, <= 20 doubles, blobs total <= 5120 bytes
 *  (the older, smaller documented cap). Blob/double positions are part of the contract: docs/analytics.md lists them. */
export const WAE_BLOBS = [
  'type', 'experiment', 'arm', 'model', 'pool', 'backend', 'error_class', 'finish_reason', 'pair_kind', 'cand_error_class',
  'drift_feature', 'drift_status',
] as const;
export const WAE_DOUBLES = [
  'count', 'status', 'latency_ms', 'ttft_ms', 'prompt_tokens', 'completion_tokens', 'cached_tokens', 'is_error',
  'router_overhead_ms', 'stream', 'exact_match', 'similarity', 'length_ratio', 'finish_agree', 'cand_latency_ms',
  'cand_ttft_ms', 'cand_is_error', 'drift_psi',
] as const;

const encoder = new TextEncoder();

function clipUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s;
  let out = s.slice(0, maxBytes);
  while (encoder.encode(out).byteLength > maxBytes) out = out.slice(0, -1);
  return out;
}

/** Index = tenant (WAE samples per index value, and reports are per tenant); -1 stands for "no value". */
export function toWaeDataPoint(e: AnalyticsEvent): WaeDataPoint {
  const r = toRow(e);
  const blobs = WAE_BLOBS.map((k) => clipUtf8(String(r[k] ?? ''), 256));
  const num = (v: string | number | null) => (v === null || v === '' ? -1 : Number(v));
  const isErr = (cls: unknown, status: unknown) => (cls !== '' || (typeof status === 'number' && status >= 400) ? 1 : 0);
  const values: Record<(typeof WAE_DOUBLES)[number], number> = {
    count: 1,
    status: num(r.status),
    latency_ms: num(r.latency_ms),
    ttft_ms: num(r.ttft_ms),
    prompt_tokens: num(r.prompt_tokens),
    completion_tokens: num(r.completion_tokens),
    cached_tokens: num(r.cached_tokens),
    is_error: isErr(r.error_class, r.status),
    router_overhead_ms: num(r.router_overhead_ms),
    stream: num(r.stream),
    exact_match: num(r.exact_match),
    similarity: num(r.similarity),
    length_ratio: num(r.length_ratio),
    finish_agree: num(r.finish_agree),
    cand_latency_ms: num(r.cand_latency_ms),
    cand_ttft_ms: num(r.cand_ttft_ms),
    cand_is_error: e.type === 'shadow_pair' ? isErr(r.cand_error_class, r.cand_status) : -1,
    drift_psi: num(r.drift_psi),
  };
  return { indexes: [clipUtf8(e.tenant, 96)], blobs, doubles: WAE_DOUBLES.map((k) => values[k]) };
}
