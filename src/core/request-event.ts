// A finished request as the one analytics event (`type: 'request'`). Built off the hot path (in waitUntil).
// This is the boundary where upstream and client values become stored data: usage and finish_reason are
// sanitised by usageAndFinish (completion-facts.ts), text is clipped to the schema's limits, and times are finite,
// so the event always passes analyticsEventSchema and no store rejects it.
import type { ErrorClass, RequestEvent } from '../analytics/event.ts';
import { newEventId, TEXT_MAX } from '../analytics/event.ts';
import { decisionHeader } from '../routing/decide.ts';
import { usageAndFinish } from '../drift/from-record.ts';
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

/** `wallNow` (epoch ms) and `monoNow` (the record's clock) date the event at the request's start. */
export function requestEventOf(rec: RequestRecord, wallNow: number, monoNow: number): RequestEvent {
  const { usage, finishReason } = rec.responseText ? usageAndFinish(rec.responseText) : {};
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
    prompt_tokens: usage?.promptTokens ?? 0,
    completion_tokens: usage?.completionTokens ?? 0,
    cached_tokens: usage?.cachedTokens ?? 0,
    finish_reason: finishReason ?? '',
    decision: d ? clipText(decisionHeader(d), TEXT_MAX.decision) : '',
    router_overhead_ms: rec.error ? null : msOrNull(rec.overheadMs),
    shadowed: rec.shadowed,
  };
}
