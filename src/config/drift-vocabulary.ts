// The names a tenant's `drift` config (drift.ts) chooses among, as plain data: the drift features, with their kind
// and doc, and the PSI smoothing conventions. The drift code (src/drift/) implements them: features.ts extracts each
// feature, psi.ts applies each smoothing.

export type FeatureKind = 'numeric' | 'categorical' | 'ngram';

export interface FeatureDef {
  name: string;
  kind: FeatureKind;
  doc: string;
}

/** The catalogue, in report order. docs/drift.md's feature table is written from these docs. */
export const FEATURES = [
  { name: 'prompt_chars', kind: 'numeric', doc: 'characters (UTF-16 code units) of all prompt text: message contents, or `prompt` for completions' },
  { name: 'prompt_tokens', kind: 'numeric', doc: '`usage.prompt_tokens` reported by the backend (not tokenized at the edge)' },
  { name: 'completion_tokens', kind: 'numeric', doc: '`usage.completion_tokens` reported by the backend' },
  { name: 'messages', kind: 'numeric', doc: 'number of chat messages (1 for a completions prompt)' },
  { name: 'ttft_ms', kind: 'numeric', doc: 'time to first byte of the response body (first SSE chunk when streaming), ms' },
  { name: 'latency_ms', kind: 'numeric', doc: 'time from request start to the end of the response body, ms' },
  { name: 'output_tps', kind: 'numeric', doc: 'completion_tokens per second of decode time (latency - ttft; whole latency if no ttft)' },
  { name: 'max_tokens', kind: 'categorical', doc: '`max_tokens`/`max_completion_tokens` bucket: unset, <=256, <=512, <=1024, <=2048, <=4096, <=16384, >16384' },
  { name: 'temperature', kind: 'categorical', doc: '`temperature` rounded to 0.1 (0..2), or unset' },
  { name: 'system_prompt', kind: 'categorical', doc: 'yes when a system or developer message is present' },
  { name: 'tools', kind: 'categorical', doc: 'yes when `tools` or `functions` is a non-empty array' },
  { name: 'response_format', kind: 'categorical', doc: '`response_format.type`: none, text, json_object, json_schema, other' },
  { name: 'stream', kind: 'categorical', doc: 'yes when `stream` is true' },
  { name: 'script', kind: 'categorical', doc: 'dominant Unicode script of the first 512 prompt letters: latin, cyrillic, greek, arabic, hebrew, devanagari, thai, han, kana, hangul, mixed (none >= 60 %), none (no letters)' },
  { name: 'finish_reason', kind: 'categorical', doc: '`finish_reason` of the first choice: stop, length, tool_calls, content_filter, function_call, none, other' },
  { name: 'error_class', kind: 'categorical', doc: 'ok, client_error (4xx), rate_limited (429), upstream_error (5xx), timeout, network, canceled' },
  { name: 'prompt_ngram', kind: 'ngram', doc: 'hashed character 3-grams of the first 1024 lower-cased prompt characters, 256 buckets' },
] as const satisfies readonly FeatureDef[];

export type FeatureName = (typeof FEATURES)[number]['name'];

/** How empty bins are smoothed before PSI is taken (src/drift/psi.ts says what each one does). */
export const SMOOTHINGS = ['none', 'half', 'laplace', 'floor', 'evidently'] as const;
export type Smoothing = (typeof SMOOTHINGS)[number];
