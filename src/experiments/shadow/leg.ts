// The outcome of one leg (primary, shadow, or a second primary) in the shape the pair record needs. The router
// builds the primary's outcome from its stream tap with legFromSummary(); the shadow runner builds its own.
import { TEXT_MAX, type ErrorClass, type Leg } from '../../analytics/event.ts';
import { finishReasonOf, tokenCount } from '../../stream/completion-facts.ts';
import type { CompletionSummary } from '../../stream/sse.ts';
import { clipText } from '../../util/text.ts';

export interface LegOutcome {
  leg: Leg;
  /** Output text of choice 0 (capped); '' when the leg failed. */
  text: string;
  /** The leg produced a complete answer (no error, 2xx, a finish_reason or [DONE]). */
  complete: boolean;
}

export interface LegFacts {
  pool: string;
  backend: string;
  upstreamModel: string;
  /** HTTP status from the backend, 0 when none arrived. */
  status: number;
  startedAt: number;
  endedAt: number;
  stream: boolean;
  /** The observer's summary; null when no body was read. */
  summary: Omit<CompletionSummary, 'ttftMs' | 'firstByteMs'> & Partial<Pick<CompletionSummary, 'ttftMs' | 'firstByteMs'>> | null;
  /** Set when the leg failed before or while reading the body. */
  errorClass?: ErrorClass;
  errorMessage?: string;
}

/** Rough token count when the backend reported no usage: 4 characters per token. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/**
 * Turns observed facts into a LegOutcome. TTFT is the first output event for streams and the first body byte for
 * non-streaming responses. Error class precedence: the caller's (connect/timeout/...), then HTTP status, then an
 * in-stream error, then a stream that ended without [DONE] or a finish_reason ('truncated').
 */
export function legFromSummary(f: LegFacts): LegOutcome {
  const s = f.summary;
  let errorClass: ErrorClass = f.errorClass ?? '';
  let errorMessage = f.errorMessage ?? '';
  if (!errorClass && f.status >= 500) errorClass = 'upstream_5xx';
  else if (!errorClass && f.status >= 400) errorClass = 'upstream_4xx';
  else if (!errorClass && s?.error) errorClass = 'stream_error';
  else if (!errorClass && f.stream && s && !s.done && !s.finishReason) errorClass = 'truncated';
  else if (!errorClass && !s) errorClass = 'internal';
  if (!errorMessage && s?.error) errorMessage = s.error;
  const text = s?.text ?? '';
  const usage = s?.usage;
  const ttft = f.stream ? (s?.ttftMs ?? null) : (s?.firstByteMs ?? null);
  // The summary's values came from the backend: sanitised again here, where they become a stored leg.
  return {
    leg: {
      pool: f.pool,
      backend: f.backend,
      upstream_model: clipText(f.upstreamModel, TEXT_MAX.model),
      status: f.status,
      error_class: errorClass,
      error_message: clipText(errorMessage, TEXT_MAX.error_message),
      ttft_ms: ttft !== null && Number.isFinite(ttft) ? Math.max(0, ttft) : null,
      latency_ms: Math.max(0, f.endedAt - f.startedAt) || 0,
      prompt_tokens: tokenCount(usage?.promptTokens),
      completion_tokens: usage ? tokenCount(usage.completionTokens) : errorClass ? 0 : estimateTokens(text.length),
      cached_tokens: tokenCount(usage?.cachedTokens),
      finish_reason: finishReasonOf(s?.finishReason) ?? '',
    },
    text: errorClass ? '' : text,
    complete: errorClass === '',
  };
}

/** A leg that never ran (skipped by the limiter, no backend, ...). */
export function skippedLeg(pool: string, upstreamModel: string, errorClass: ErrorClass, message: string): LegOutcome {
  return {
    leg: {
      pool,
      backend: '',
      upstream_model: upstreamModel,
      status: 0,
      error_class: errorClass,
      error_message: message,
      ttft_ms: null,
      latency_ms: null,
      prompt_tokens: 0,
      completion_tokens: 0,
      cached_tokens: 0,
      finish_reason: '',
    },
    text: '',
    complete: false,
  };
}
