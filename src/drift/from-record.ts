// Adapter from the router's finished-request record (src/core/inference.ts RequestRecord, passed to
// Platform.hooks.onRecord) to a drift observation: usage and finish_reason are read from the buffered JSON
// response or from the tail of the SSE stream. Structural types, so this module does not depend on the core.
import type { DriftObservation } from './recorder.ts';
import type { ResponseObservation } from './features.ts';
import type { DriftConfig } from '../config/drift.ts';
import type { CacheReceipt } from '../types/cache-receipt.ts';
import { completionFacts, receiptOf, usageOf, type ReceiptReader, type Usage } from '../stream/completion-facts.ts';
import { responsesUsageInText } from '../stream/responses-usage.ts';

export interface RequestRecordLike {
  /** The router's own random id for the request (sampling keys on it; the request id may be the client's). */
  samplingId: string;
  tenantId: string;
  model: string;
  body: object;
  status: number;
  ttftMs: number;
  latencyMs: number;
  /** 'completed' | 'upstream_error' | 'idle_timeout' | 'truncated' | 'client_abort' */
  outcome: string;
  responseText: string;
}

/** What a finished response stated about itself. */
export interface ResponseFacts {
  usage?: Usage;
  finishReason?: string;
  /** The engine's cache receipt, when read with its adapter and the engine stated one. */
  receipt?: CacheReceipt;
}

/**
 * Adds what one message states to `out`, keeping what `out` already holds: the stream is read from its end, so
 * the first value found for each fact is its last in the stream (the one that counts). Sanitised by
 * completionFacts (the backend's values are untrusted).
 */
function takeMissing(out: ResponseFacts, obj: unknown, receipts: ReceiptReader | undefined): void {
  const facts = completionFacts(obj, receipts);
  if (facts.usage && !out.usage) out.usage = facts.usage;
  if (facts.finishReason && !out.finishReason) out.finishReason = facts.finishReason;
  if (facts.receipt && !out.receipt) out.receipt = facts.receipt;
}

/** Every fact the reader can find has been found (a receipt only with the engine's adapter). */
const complete = (out: ResponseFacts, receipts: ReceiptReader | undefined) => out.usage !== undefined && out.finishReason !== undefined && (!receipts || out.receipt !== undefined);

/**
 * usage, finish_reason and (given the engine's adapter) the cache receipt from a JSON response body or an SSE
 * tail, last values winning as in the stream. The tail is read backwards and only until every fact has been
 * found: they arrive in the last events, so a stream of hundreds of chunks costs two or three JSON.parse calls.
 */
export function usageAndFinish(text: string, receipts?: ReceiptReader): ResponseFacts {
  const out: ResponseFacts = {};
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      takeMissing(out, JSON.parse(trimmed), receipts);
      return out;
    } catch {
      // Not one JSON body: an SSE tail cut just after a `data:` (it starts with the event's JSON), read below.
    }
  }
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0 && !complete(out, receipts); i--) {
    const line = lines[i]!; // i < lines.length
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '[DONE]' || !data.startsWith('{')) continue;
    try {
      takeMissing(out, JSON.parse(data), receipts);
    } catch {
      // The tail may start mid-event: skip the partial line.
    }
  }
  // A Responses stream's usage sits in its terminal event, which holds the whole answer: the tail may have cut it.
  if (!out.usage) {
    const cut = responsesUsageInText(text);
    out.usage = usageOf(cut) ?? undefined;
    const receipt = cut && receipts ? receiptOf(receipts.receipt({}, cut)) : null;
    if (receipt) out.receipt = receipt;
  }
  return out;
}

const FAILURES: Record<string, ResponseObservation['failure']> = {
  idle_timeout: 'timeout',
  client_abort: 'canceled',
  upstream_error: 'network',
  truncated: 'network',
};

/** `facts`: what the caller has already read from the response (it is parsed once per request). */
export function observationFromRecord(rec: RequestRecordLike, facts: ResponseFacts = usageAndFinish(rec.responseText)): ResponseObservation {
  const { usage, finishReason } = facts;
  const failure = FAILURES[rec.outcome];
  const tokens = usage ? { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens } : undefined;
  return { status: rec.status, usage: tokens, finishReason, ttftMs: rec.ttftMs, latencyMs: rec.latencyMs, ...(failure ? { failure } : {}) };
}

/** Everything `DriftRecorder.observe` needs from a record; `arm` is the experiment arm ('' when none). */
export function driftObservationOf(rec: RequestRecordLike, config: DriftConfig, arm = '', facts?: ResponseFacts): DriftObservation {
  return { tenantId: rec.tenantId, config, samplingId: rec.samplingId, model: rec.model, arm, body: rec.body as Record<string, unknown>, response: observationFromRecord(rec, facts) };
}
