// The drift features of one request/response, extracted from the parsed OpenAI-style request body and an
// observation of the response. Every categorical feature has a closed vocabulary (unexpected values map to
// 'other'), so its sketch stays exact and small. The catalogue of features is src/config/drift-vocabulary.ts.
import { FEATURES, type FeatureKind, type FeatureName } from '../config/drift-vocabulary.ts';

type NamesOfKind<K extends FeatureKind> = Extract<(typeof FEATURES)[number], { kind: K }>['name'];
export type NumericFeature = NamesOfKind<'numeric'>;
export type CategoricalFeature = NamesOfKind<'categorical'>;

type FeatureOfKind<K extends FeatureKind> = Extract<(typeof FEATURES)[number], { kind: K }>;
export const NUMERIC_FEATURES = FEATURES.filter((f): f is FeatureOfKind<'numeric'> => f.kind === 'numeric').map((f) => f.name);
export const CATEGORICAL_FEATURES = FEATURES.filter((f): f is FeatureOfKind<'categorical'> => f.kind === 'categorical').map((f) => f.name);
export const FEATURE_KIND: Record<FeatureName, FeatureKind> = Object.fromEntries(FEATURES.map((f) => [f.name, f.kind])) as Record<FeatureName, FeatureKind>;

/** One request's features. A numeric feature that could not be observed is absent (not 0). */
export interface FeatureVector {
  numeric: Partial<Record<NumericFeature, number>>;
  categorical: Partial<Record<CategoricalFeature, string>>;
  /** Prompt text for the n-gram histogram ('' when there is none). */
  promptText: string;
}

/** What the router observed about the response. */
export interface ResponseObservation {
  /** HTTP status returned to the client (0 when no response was produced). */
  status: number;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  finishReason?: string | null;
  ttftMs?: number;
  latencyMs?: number;
  /** Set when the request failed without an HTTP status from the backend. */
  failure?: 'timeout' | 'network' | 'canceled';
}

const MAX_TOKEN_BUCKETS = [256, 512, 1024, 2048, 4096, 16384];
const FINISH_REASONS = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);
const RESPONSE_FORMATS = new Set(['text', 'json_object', 'json_schema']);
const SCRIPT_SAMPLE = 512;
const DOMINANT_SHARE = 0.6;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Text of a chat message's content: a string, or the `text` parts of a content array. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let s = '';
  for (const part of content) if (isObject(part) && typeof part.text === 'string') s += (s ? '\n' : '') + part.text;
  return s;
}

/** All prompt text of a chat or completions body, and the message count. */
export function promptOf(body: Json): { text: string; messages: number; hasSystem: boolean } {
  if (Array.isArray(body.messages)) {
    const texts: string[] = [];
    let hasSystem = false;
    for (const m of body.messages) {
      if (!isObject(m)) continue;
      if (m.role === 'system' || m.role === 'developer') hasSystem = true;
      const t = contentText(m.content);
      if (t) texts.push(t);
    }
    return { text: texts.join('\n'), messages: body.messages.length, hasSystem };
  }
  const p = body.prompt;
  const text = typeof p === 'string' ? p : Array.isArray(p) ? p.filter((x) => typeof x === 'string').join('\n') : '';
  return { text, messages: text ? 1 : 0, hasSystem: false };
}

export function maxTokensClass(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'unset';
  for (const b of MAX_TOKEN_BUCKETS) if (v <= b) return `<=${b}`;
  return `>${MAX_TOKEN_BUCKETS.at(-1)}`;
}

export function temperatureClass(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'unset';
  return (Math.round(Math.min(2, Math.max(0, v)) * 10) / 10).toFixed(1);
}

function scriptOf(code: number): string | undefined {
  if ((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0xc0 && code <= 0x24f && code !== 0xd7 && code !== 0xf7) || (code >= 0x1e00 && code <= 0x1eff)) return 'latin';
  if (code < 0x370) return undefined;
  if (code <= 0x3ff) return 'greek';
  if (code <= 0x52f) return 'cyrillic';
  if (code >= 0x590 && code <= 0x5ff) return 'hebrew';
  if ((code >= 0x600 && code <= 0x6ff) || (code >= 0x750 && code <= 0x77f)) return 'arabic';
  if (code >= 0x900 && code <= 0x97f) return 'devanagari';
  if (code >= 0xe00 && code <= 0xe7f) return 'thai';
  if ((code >= 0x1100 && code <= 0x11ff) || (code >= 0x3130 && code <= 0x318f) || (code >= 0xac00 && code <= 0xd7af)) return 'hangul';
  if (code >= 0x3040 && code <= 0x30ff) return 'kana';
  if ((code >= 0x3400 && code <= 0x4dbf) || (code >= 0x4e00 && code <= 0x9fff) || (code >= 0xf900 && code <= 0xfaff)) return 'han';
  return undefined;
}

/** Dominant script of the first 512 letters; Japanese text (kana mixed with han) counts as kana when kana leads. */
export function scriptClass(text: string): string {
  let latin = 0;
  let letters = 0;
  let others: Record<string, number> | undefined;
  for (let i = 0; i < text.length && letters < SCRIPT_SAMPLE; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) {
      // ASCII fast path: most prompts are mostly ASCII.
      if ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a) {
        latin++;
        letters++;
      }
      continue;
    }
    const s = scriptOf(code);
    if (s === undefined) continue;
    letters++;
    if (s === 'latin') latin++;
    else (others ??= {})[s] = (others[s] ?? 0) + 1;
  }
  if (letters === 0) return 'none';
  let best = 'latin';
  let bestCount = latin;
  if (others) for (const [s, c] of Object.entries(others)) if (c > bestCount) [best, bestCount] = [s, c];
  return bestCount >= DOMINANT_SHARE * letters ? best : 'mixed';
}

export function finishReasonClass(v: unknown): string {
  if (v === undefined || v === null || v === '') return 'none';
  return typeof v === 'string' && FINISH_REASONS.has(v) ? v : 'other';
}

export function responseFormatClass(v: unknown): string {
  if (!isObject(v)) return 'none';
  return typeof v.type === 'string' && RESPONSE_FORMATS.has(v.type) ? v.type : 'other';
}

export function errorClass(obs: ResponseObservation): string {
  if (obs.failure) return obs.failure;
  if (obs.status === 429) return 'rate_limited';
  if (obs.status >= 500) return 'upstream_error';
  if (obs.status >= 400) return 'client_error';
  return 'ok';
}

const finiteNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Extracts the feature vector of one request. `body` is the parsed JSON request body. */
export function extractFeatures(body: Json, obs: ResponseObservation): FeatureVector {
  const prompt = promptOf(body);
  const numeric: FeatureVector['numeric'] = { prompt_chars: prompt.text.length, messages: prompt.messages };
  const usage = obs.usage ?? undefined;
  if (finiteNonNegative(usage?.prompt_tokens)) numeric.prompt_tokens = usage.prompt_tokens;
  if (finiteNonNegative(usage?.completion_tokens)) numeric.completion_tokens = usage.completion_tokens;
  if (finiteNonNegative(obs.ttftMs)) numeric.ttft_ms = obs.ttftMs;
  if (finiteNonNegative(obs.latencyMs)) numeric.latency_ms = obs.latencyMs;
  const tokens = numeric.completion_tokens;
  if (tokens !== undefined && obs.latencyMs !== undefined) {
    const decodeMs = obs.latencyMs - (obs.ttftMs ?? 0);
    const ms = decodeMs > 0 ? decodeMs : obs.latencyMs;
    if (ms > 0) numeric.output_tps = (tokens * 1000) / ms;
  }
  const tools = body.tools ?? body.functions;
  return {
    numeric,
    categorical: {
      max_tokens: maxTokensClass(body.max_completion_tokens ?? body.max_tokens),
      temperature: temperatureClass(body.temperature),
      system_prompt: prompt.hasSystem ? 'yes' : 'no',
      tools: Array.isArray(tools) && tools.length > 0 ? 'yes' : 'no',
      response_format: responseFormatClass(body.response_format),
      stream: body.stream === true ? 'yes' : 'no',
      script: scriptClass(prompt.text),
      finish_reason: finishReasonClass(obs.finishReason),
      error_class: errorClass(obs),
    },
    promptText: prompt.text,
  };
}
