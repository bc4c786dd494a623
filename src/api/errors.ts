// OpenAI-style error bodies. Every client-facing error goes through here so shapes and statuses stay uniform.
import { StoredDataError } from '../util/parse-stored.ts';

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'server_error'
  | 'conflict_error';

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

/** An error that knows its HTTP status and OpenAI-style body. Thrown inside the router, rendered at the edge. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const errors = {
  badJson: (detail: string) =>
    new HttpError(400, 'invalid_request_error', `Request body is not valid JSON: ${detail}. Send a JSON object.`, 'invalid_json'),
  badField: (param: string, message: string) =>
    new HttpError(400, 'invalid_request_error', `Invalid value for '${param}': ${message}`, 'invalid_value', param),
  tooLarge: (limit: number) =>
    new HttpError(413, 'invalid_request_error', `Request body exceeds the limit of ${limit} bytes for this tenant. Send a smaller body.`, 'request_too_large'),
  noKey: () =>
    new HttpError(401, 'authentication_error', 'Missing API key. Send it as "Authorization: Bearer <key>".', 'missing_api_key'),
  badKey: () => new HttpError(401, 'authentication_error', 'Incorrect API key provided.', 'invalid_api_key'),
  forbidden: (what: string) => new HttpError(403, 'permission_error', what, 'forbidden'),
  unknownModel: (model: string) =>
    new HttpError(404, 'not_found_error', `The model '${model}' does not exist or you do not have access to it.`, 'model_not_found', 'model'),
  notFound: (what: string) => new HttpError(404, 'not_found_error', what, 'not_found'),
  methodNotAllowed: (method: string, path: string, allowed: string[]) =>
    new HttpError(405, 'invalid_request_error', `Method ${method} is not allowed for ${path}. Use ${allowed.join(' or ')}.`, 'method_not_allowed', null, {
      allow: allowed.join(', '),
    }),
  noBackend: (pool: string) =>
    new HttpError(503, 'upstream_error', `No healthy backend available in pool '${pool}'. Retry later.`, 'no_backend_available'),
  upstreamFailed: (detail: string) => new HttpError(502, 'upstream_error', `Upstream backend failed: ${detail}`, 'upstream_error'),
  upstreamTimeout: (detail: string) => new HttpError(504, 'timeout_error', `Upstream backend timed out: ${detail}`, 'upstream_timeout'),
  /** The last attempt could not reach its backend, broke, or timed out before the first byte. */
  upstreamFailure: (backend: string, f: { kind: 'connect' | 'timeout' | 'reset' | 'aborted'; message: string }) =>
    f.kind === 'timeout'
      ? new HttpError(504, 'timeout_error', `Upstream backend timed out: backend '${backend}': ${f.message}`, 'upstream_timeout')
      : f.kind === 'connect'
        ? new HttpError(502, 'upstream_error', `Could not connect to the upstream backend '${backend}': ${f.message}`, 'upstream_connect_failed')
        : new HttpError(502, 'upstream_error', `Upstream backend failed: backend '${backend}': ${f.message}`, 'upstream_error'),
  /** Every attempt got a retryable error status. */
  upstreamStatus: (backend: string, status: number) =>
    new HttpError(502, 'upstream_error', `Upstream backend failed: every attempt got an error status (last: backend '${backend}' answered ${status}). Retry later.`, 'upstream_status_error'),
  rateLimited: (backend: string, retryAfter: string | null) =>
    new HttpError(429, 'rate_limit_error', `All backends are rate limited (last: ${backend}). Retry later.`, 'upstream_rate_limited', null, retryAfter ? { 'retry-after': retryAfter } : {}),
  clientClosed: () => new HttpError(499, 'invalid_request_error', 'Client closed the request.', 'client_closed'),
  bodyTimeout: (ms: number) =>
    new HttpError(408, 'invalid_request_error', `The request body did not arrive within ${ms} ms. Send the whole body at once.`, 'request_body_timeout'),
};

/** Serialises any thrown value into (status, body); unknown errors become 500 without leaking internals. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (err instanceof HttpError) return { status: err.status, body: err.toBody(), headers: err.headers };
  if (err instanceof StoredDataError) return { status: err.status, body: { error: { message: err.message, type: 'server_error', param: null, code: err.code } }, headers: {} };
  return {
    status: 500,
    body: { error: { message: 'Internal router error.', type: 'server_error', param: null, code: 'internal_error' } },
    headers: {},
  };
}

/** Renders any error as OpenAI-style JSON with its status and extra headers. */
export function errorResponse(err: unknown, extraHeaders: Record<string, string> = {}): Response {
  const { status, body, headers } = toErrorResponse(err);
  if (status >= 500 && !(err && typeof err === 'object' && 'status' in err)) console.error('kvroute: unexpected error', err);
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers, ...extraHeaders },
  });
}
