// A finished request as the one analytics event (`type: 'request'`). Built off the hot path (in waitUntil).
// This is the boundary where upstream and client values become stored data: usage, finish_reason and the cache
// receipt are sanitised by usageAndFinish (completion-facts.ts), text is clipped to the schema's limits, and times
// are finite, so the event always passes analyticsEventSchema and no store rejects it. The token columns carry the
// engine's cache receipt where it stated one (read through the backend's engine adapter), else its usage.
import type { ErrorClass, RequestEvent } from '../analytics/event.ts';
import { newEventId, TEXT_MAX } from '../analytics/event.ts';
import { decisionHeader } from '../routing/decide.ts';
import { usageAndFinish, type ResponseFacts } from '../drift/from-record.ts';
import { clipText } from '../util/text.ts';
import type { RequestRecord } from './inference.ts';
import { outcomeErrorClass, routerErrorClass } from './error-class.ts';

function errorClassOf(rec: RequestRecord): ErrorClass {
  if (rec.error) return routerErrorClass(rec.error.status, rec.error.code);
  const fromOutcome = outcomeErrorClass(rec.outcome);
  if (fromOutcome) return fromOutcome;
  if (rec.status >= 500) return 'upstream_5xx';
  if (rec.status >= 400) return 'upstream_4xx';
  return '';
}

/** A duration for the store: finite and >= 0, else null. */
const msOrNull = (v: number): number | null => (Number.isFinite(v) ? Math.max(0, v) : null);

/** What the response stated (usage, finish_reason, and its cache receipt read through the engine's adapter). */
export function responseFactsOf(rec: RequestRecord): ResponseFacts {
  return rec.responseText ? usageAndFinish(rec.responseText, rec.decision?.backend.adapter) : {};
}

/**
 * `wallNow` (epoch ms) and `monoNow` (the record's clock) date the event at the request's start; `facts` when the
 * caller has read them already.
 */
export function requestEventOf(rec: RequestRecord, wallNow: number, monoNow: number, facts: ResponseFacts = responseFactsOf(rec)): RequestEvent {
  const { usage, finishReason, receipt } = facts;
  const d = rec.decision;
  return {
    type: 'request',
    event_id: newEventId(),
    ts: Math.max(0, Math.round(wallNow - (monoNow - rec.startedAt))) || 0,
    tenant: rec.tenantId,
    request_id: rec.requestId,
    correlation_id: rec.requestId,
    model: clipText(rec.model, TEXT_MAX.model),
    experiment: rec.experiment,
    arm: rec.arm,
    stream: rec.stream,
    pool: d?.pool ?? '',
    backend: d?.backend.id ?? '',
    upstream_model: '',
    status: rec.error?.status ?? rec.status,
    error_class: errorClassOf(rec),
    error_message: clipText(rec.error?.message ?? '', TEXT_MAX.error_message),
    ttft_ms: rec.error ? null : msOrNull(rec.ttftMs),
    latency_ms: msOrNull(rec.latencyMs),
    prompt_tokens: receipt?.promptTokens ?? usage?.promptTokens ?? 0,
    completion_tokens: usage?.completionTokens ?? 0,
    cached_tokens: receipt?.cachedTokens ?? usage?.cachedTokens ?? 0,
    finish_reason: finishReason ?? '',
    decision: d ? clipText(decisionHeader(d), TEXT_MAX.decision) : '',
    router_overhead_ms: rec.error ? null : msOrNull(rec.overheadMs),
    shadowed: rec.shadowed,
  };
}
