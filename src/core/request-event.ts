// A finished request as the one analytics event (`type: 'request'`). Built off the hot path (in waitUntil).
import type { ErrorClass, RequestEvent } from '../analytics/event.ts';
import { newEventId } from '../analytics/event.ts';
import { decisionHeader } from '../routing/decide.ts';
import { usageAndFinish } from '../drift/from-record.ts';
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

/** `wallNow` (epoch ms) and `monoNow` (the record's clock) date the event at the request's start. */
export function requestEventOf(rec: RequestRecord, wallNow: number, monoNow: number): RequestEvent {
  const { usage, finishReason } = rec.responseText ? usageAndFinish(rec.responseText) : {};
  const u = usage as { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } } | undefined;
  const d = rec.decision;
  return {
    type: 'request',
    event_id: newEventId(),
    ts: Math.max(0, Math.round(wallNow - (monoNow - rec.startedAt))),
    tenant: rec.tenantId,
    request_id: rec.requestId,
    correlation_id: rec.requestId,
    model: rec.model,
    experiment: rec.experiment,
    arm: rec.arm,
    stream: rec.stream,
    pool: d?.pool ?? '',
    backend: d?.backend.id ?? '',
    upstream_model: '',
    status: rec.error?.status ?? rec.status,
    error_class: errorClassOf(rec),
    error_message: (rec.error?.message ?? '').slice(0, 1000),
    ttft_ms: rec.error ? null : Math.max(0, rec.ttftMs),
    latency_ms: Math.max(0, rec.latencyMs),
    prompt_tokens: u?.prompt_tokens ?? 0,
    completion_tokens: u?.completion_tokens ?? 0,
    cached_tokens: u?.prompt_tokens_details?.cached_tokens ?? 0,
    finish_reason: (finishReason ?? '').slice(0, 64),
    decision: d ? decisionHeader(d).slice(0, 512) : '',
    router_overhead_ms: rec.error ? null : Math.max(0, rec.overheadMs),
    shadowed: rec.shadowed,
  };
}
