// Usage and finish reason of Responses API answers, in the chat-completions form the analytics and drift readers
// already understand. A Responses body carries `usage: {input_tokens, output_tokens, input_tokens_details:
// {cached_tokens}}` and a `status`; its stream carries them inside the terminal event's `response` object.
// Pure: parsed JSON in, chat-style values out.

/** Chat-completions usage: what src/stream/sse.ts and src/drift/from-record.ts read. */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens: number };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Responses usage object as chat usage; null when `u` is not one. */
export function chatUsageOfResponses(u: unknown): ChatUsage | null {
  if (!isObject(u) || !('input_tokens' in u || 'output_tokens' in u)) return null;
  const out: ChatUsage = { prompt_tokens: u.input_tokens as number, completion_tokens: u.output_tokens as number };
  if (u.total_tokens !== undefined) out.total_tokens = u.total_tokens as number;
  const details = u.input_tokens_details;
  if (isObject(details) && details.cached_tokens !== undefined) out.prompt_tokens_details = { cached_tokens: details.cached_tokens as number };
  return out;
}

/** The Responses object of a body (`object: "response"`) or of a stream event (`{type, response: {...}}`). */
function responseOf(msg: unknown): Json | null {
  if (!isObject(msg)) return null;
  if (msg.object === 'response') return msg;
  return isObject(msg.response) && msg.response.object === 'response' ? msg.response : null;
}

/** The usage of a parsed body or event in chat form: chat's own `usage` as is, a Responses usage mapped. */
export function usageOfMessage(msg: unknown): unknown {
  if (!isObject(msg)) return undefined;
  const resp = responseOf(msg);
  return resp ? (chatUsageOfResponses(resp.usage) ?? undefined) : msg.usage;
}

/** A Responses answer's finish reason in chat terms (stop, length, content_filter, error); null when not one. */
export function responsesFinishReason(msg: unknown): string | null {
  const resp = responseOf(msg);
  if (!resp) return null;
  if (resp.status === 'completed') return 'stop';
  if (resp.status === 'failed') return 'error';
  if (resp.status !== 'incomplete') return null;
  const reason = isObject(resp.incomplete_details) ? resp.incomplete_details.reason : undefined;
  return reason === 'max_output_tokens' ? 'length' : typeof reason === 'string' ? reason : 'length';
}

/**
 * The last Responses usage object in `text` (a body, or the tail of a stream whose terminal event was cut at its
 * start, as the record keeps only a stream's tail). `"usage":{` with unescaped quotes is JSON structure, never
 * user text; the object ends at its matching brace (braces inside strings skipped), within its line.
 */
export function responsesUsageInText(text: string): ChatUsage | null {
  const at = text.lastIndexOf('"usage":{');
  if (at < 0) return null;
  const start = at + '"usage":'.length;
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      try {
        return chatUsageOfResponses(JSON.parse(text.slice(start, i + 1)));
      } catch {
        return null;
      }
    } else if (c === 0x0a) return null; // the line ended first: a cut object
  }
  return null;
}
