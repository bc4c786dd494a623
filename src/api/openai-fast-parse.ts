// The request-body check on the hot path. The zod schemas (openai-api.ts) are the one definition of a valid body;
// running one costs more than the rest of the router's per-request parsing together, so the common case, a chat
// or completions body whose fields all have the expected types, is recognised here by plain type checks, and
// everything else goes to zod. The contract, checked by a property test (test/unit/config/fast-parse.test.ts):
// whenever this returns a value, zod accepts the body and parses it to an equal value; whenever zod rejects a body,
// this returns undefined (so rejections, with zod's message, always come from zod).
import type { InferenceBody, InferenceKind } from './openai-api.ts';

type Json = Record<string, unknown>;
/** True when zod's schema for the field accepts the value and passes it through unchanged. */
type Check = (v: unknown) => boolean;

/**
 * A JSON object that zod's object and record schemas copy unchanged. A JSON `__proto__` key is an own property of
 * the parsed object, but zod's copy assigns it as the prototype: such bodies are left to zod.
 */
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v) && !Object.hasOwn(v, '__proto__');
const isString: Check = (v) => typeof v === 'string';
const isBoolean: Check = (v) => typeof v === 'boolean';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** zod's `.int()`: a safe integer. */
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isPositiveInt: Check = (v) => isInt(v) && v > 0;
const isNonNegativeInt: Check = (v) => isInt(v) && v >= 0;
const inRange = (min: number, max: number): Check => (v) => isNumber(v) && v >= min && v <= max;
const arrayOf = (item: Check): Check => (v) => Array.isArray(v) && v.every(item);
/** `z.looseObject({ type: z.string() })`. */
const isTyped: Check = (v) => isObject(v) && typeof v.type === 'string';

function isRecord(value: Check | null): Check {
  return (v) => {
    if (!isObject(v)) return false;
    if (value) for (const k in v) if (!value(v[k])) return false;
    return true;
  };
}

/** A chat message: `role` a non-empty string; `content` absent, a string, null, or an array of typed parts. */
const isMessage: Check = (m) => {
  if (!isObject(m) || typeof m.role !== 'string' || m.role.length === 0) return false;
  const c = m.content;
  return c === undefined || c === null || typeof c === 'string' || (Array.isArray(c) && c.every(isTyped));
};

const isStreamOptions: Check = (v) => isObject(v) && (v.include_usage === undefined || typeof v.include_usage === 'boolean');

/** The fields zod's `opt()` wraps (null reads as "not set"), shared by chat and completions (openai-api.ts `common`). */
const COMMON: Record<string, Check> = {
  stream: isBoolean,
  stream_options: isStreamOptions,
  temperature: inRange(0, 2),
  top_p: inRange(0, 1),
  user: isString,
  metadata: isRecord(null),
  max_tokens: isPositiveInt,
  max_completion_tokens: isPositiveInt,
  n: isPositiveInt,
  seed: isInt,
  stop: (v) => typeof v === 'string' || arrayOf(isString)(v),
  logprobs: (v) => typeof v === 'boolean' || isNonNegativeInt(v),
  top_logprobs: isNonNegativeInt,
  frequency_penalty: isNumber,
  presence_penalty: isNumber,
  logit_bias: isRecord(isNumber),
};

interface Shape {
  /** Required fields (no null). */
  required: Record<string, Check>;
  /** Optional fields that may also be null (parsed as undefined). */
  optional: Record<string, Check>;
}

const SHAPES: Partial<Record<InferenceKind, Shape>> = {
  chat: {
    required: { model: (v) => typeof v === 'string' && v.length > 0, messages: (v) => Array.isArray(v) && v.length > 0 && v.every(isMessage) },
    optional: { ...COMMON, tools: arrayOf(isTyped), tool_choice: (v) => typeof v === 'string' || isTyped(v), parallel_tool_calls: isBoolean, response_format: isTyped },
  },
  completions: {
    required: {
      model: (v) => typeof v === 'string' && v.length > 0,
      prompt: (v) => typeof v === 'string' || arrayOf(isString)(v) || arrayOf(isInt)(v) || arrayOf(arrayOf(isInt))(v),
    },
    optional: { ...COMMON, echo: isBoolean, suffix: isString, best_of: isPositiveInt },
  },
};

/**
 * The parsed body of a `kind` request when its fields have the common shapes (the body itself, or a shallow copy
 * with top-level nulls read as undefined, as zod's parse gives); undefined when zod has to decide.
 */
export function fastParse(kind: InferenceKind, raw: Json): InferenceBody | undefined {
  const shape = SHAPES[kind];
  if (!shape || Object.hasOwn(raw, '__proto__')) return undefined;
  for (const k in shape.required) if (!shape.required[k]!(raw[k])) return undefined;
  let nulls: string[] | undefined;
  for (const k in shape.optional) {
    const v = raw[k];
    if (v === undefined) continue;
    if (v === null) (nulls ??= []).push(k);
    else if (!shape.optional[k]!(v)) return undefined;
  }
  if (!nulls) return raw as InferenceBody;
  const copy: Json = { ...raw };
  for (const k of nulls) copy[k] = undefined;
  return copy as InferenceBody;
}
