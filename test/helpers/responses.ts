// Typed reads of the responses that many tests check, one helper per shape. A JSON body is read as `unknown` and
// given its type here, in one place: the router under test wrote it, and the test's own assertions check what it
// says. An error answer is checked for its shape first, so that a test that expected one and got something else
// shows what came instead of failing on `undefined`.
import type { ErrorBody } from '../../src/api/errors.ts';
import type { EngineLoadReport } from '../../src/upstream/backend-state.ts';
import type { BreakerState } from '../../src/upstream/breaker.ts';

/** The `error` of an OpenAI-style error answer (src/api/errors.ts); an invalid tenant config also lists `problems`. */
export type ApiError = ErrorBody['error'] & { problems?: string[] };

/** The `error` object of a parsed error body (an answer, an SSE error event); throws, with the body, when it is not one. */
export function errorIn(body: unknown): ApiError {
  const error = typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined;
  if (typeof error !== 'object' || error === null) throw new Error(`expected an OpenAI-style error body, got ${JSON.stringify(body)}`);
  return error as ApiError;
}

/** The `error` object of an error answer. */
export async function errorOf(res: Response): Promise<ApiError> {
  return errorIn(await res.json<unknown>());
}

/** `POST /admin/tenants/:id/keys` (routes/admin.ts): the plain key, shown this once. */
export interface IssuedKey {
  keyId: string;
  key: string;
  tenantId: string;
  name: string | null;
  createdAt: string;
}

export async function issuedKeyOf(res: Response): Promise<IssuedKey> {
  return (await res.json<unknown>()) as IssuedKey;
}

/** `GET /admin/tenants/:id/keys`: the tenant's keys, never the keys themselves. */
export interface KeyList {
  keys: { keyId: string; name: string | null; createdAt: string }[];
}

export async function keyListOf(res: Response): Promise<KeyList> {
  return (await res.json<unknown>()) as KeyList;
}

/** The ids `GET /v1/models` lists. */
export async function modelIdsOf(res: Response): Promise<string[]> {
  return ((await res.json<unknown>()) as { data: { id: string }[] }).data.map((m) => m.id);
}

/** One backend in `GET /admin/backends` (routes/admin.ts). */
export interface BackendView {
  inflight: number;
  breaker: BreakerState;
  failures: number;
  ejections: number;
  healthy: boolean;
  ejectedForMs: number;
  engine: EngineLoadReport;
  engineObservedAt: number | null;
  engineReport: string | null;
}

/** `GET /admin/backends`: the router's view of each backend, by URL. */
export async function backendsOf(res: Response): Promise<Record<string, BackendView>> {
  return ((await res.json<unknown>()) as { backends: Record<string, BackendView> }).backends;
}

/** A reader of a response's body as the bytes it is (the Workers types declare a body's chunks as `any`). */
export function bodyReader(res: Response): ReadableStreamDefaultReader<Uint8Array> {
  if (!res.body) throw new Error(`the response (status ${res.status}) has no body`);
  return res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
}
