// A backend's error answer in the router's one error shape, OpenAI's `{"error":{"message","type","param","code"}}`
// with `type` and `code` as strings. Backends answer errors in their own shapes: vLLM's current
// `{"error":{..., "code":400}}` and older `{"object":"error","type":"BadRequestError","code":400,...}`, FastAPI's
// `{"detail":...}`, TGI's `{"error":"...","error_type":"..."}`, llama.cpp's, a proxy's HTML page, plain text. The
// HTTP status and the backend's message are kept; the rest is mapped so that clients can rely on one shape.
import type { ErrorBody } from '../api/errors.ts';

/** Error `type` by status, the router's vocabulary (src/api/errors.ts). */
function typeForStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 408 || status === 504) return 'timeout_error';
  if (status === 409) return 'conflict_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'upstream_error';
  return 'invalid_request_error';
}

/** OpenAI's own types are snake_case words; engine exception names (BadRequestError) are not kept as the type. */
const OPENAI_STYLE_TYPE = /^[a-z][a-z0-9_]*$/;
const MAX_MESSAGE_CHARS = 2_000;

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

/** The message of FastAPI's `detail`: a string, or a list of validation problems. */
function detailMessage(detail: unknown): string | null {
  if (typeof detail === 'string') return str(detail);
  if (!Array.isArray(detail)) return null;
  const parts = detail.map((d) => {
    const o = d as { loc?: unknown[]; msg?: unknown };
    const where = Array.isArray(o?.loc) ? o.loc.filter((x) => x !== 'body').join('.') : '';
    return typeof o?.msg === 'string' ? (where ? `${where}: ${o.msg}` : o.msg) : JSON.stringify(d);
  });
  return str(parts.join('; '));
}

/** Text of a non-JSON body: tags stripped, whitespace collapsed (a proxy's HTML error page reads as its text). */
function plainText(text: string): string | null {
  return str(text.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim());
}

interface Found {
  message: string | null;
  type: string | null;
  param: string | null;
  code: string | null;
}

function fromJson(v: unknown): Found {
  const none: Found = { message: null, type: null, param: null, code: null };
  if (typeof v === 'string') return { ...none, message: str(v) };
  if (!v || typeof v !== 'object' || Array.isArray(v)) return none;
  const o = v as Record<string, unknown>;
  // OpenAI / current vLLM / llama.cpp: {"error": {...}}; TGI: {"error": "text", "error_type": "..."}.
  const e = o.error && typeof o.error === 'object' && !Array.isArray(o.error) ? (o.error as Record<string, unknown>) : o;
  return {
    message: str(e.message) ?? str(o.error) ?? detailMessage(o.detail) ?? str(o.msg),
    type: str(e.type) ?? str(o.error_type),
    param: str(e.param),
    code: str(e.code),
  };
}

/**
 * The OpenAI-style body for a backend's error answer (status >= 400) of any shape, as JSON text. Never throws.
 * `code` is the backend's string code, else `upstream_<status>` (engines send the status as a number there).
 */
export function normaliseUpstreamError(status: number, text: string): string {
  let found: Found;
  try {
    found = fromJson(JSON.parse(text));
  } catch {
    found = { message: plainText(text), type: null, param: null, code: null };
  }
  const message = (found.message ?? plainText(text) ?? `The backend answered ${status} without a message.`).slice(0, MAX_MESSAGE_CHARS);
  const body: ErrorBody = {
    error: {
      message,
      type: (found.type && OPENAI_STYLE_TYPE.test(found.type) ? found.type : typeForStatus(status)) as ErrorBody['error']['type'],
      param: found.param,
      code: found.code ?? `upstream_${status}`,
    },
  };
  return JSON.stringify(body);
}
