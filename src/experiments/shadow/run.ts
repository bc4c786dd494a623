// Runs one shadow (or noise-floor) leg: sends the request with `x-kvroute-shadow: 1`, reads the body to the end
// through the SSE observer, and never throws: every failure becomes part of the LegOutcome. Meant to run inside
// waitUntil, concurrently with the primary (the request is teed, not the response).
import { CompletionStreamObserver, summariseCompletionBody } from '../../stream/sse.ts';
import type { ErrorClass } from '../../analytics/event.ts';
import { legFromSummary, type LegOutcome } from './leg.ts';

export const SHADOW_HEADER = 'x-kvroute-shadow';

/** Structurally the router's UpstreamClient (src/upstream/types.ts), so it can be passed as is. */
export interface ShadowSender {
  send(req: {
    baseUrl: string;
    path: string;
    method: 'POST';
    headers: Record<string, string>;
    body: string;
    signal: AbortSignal;
    connectTimeoutMs: number;
  }): Promise<{ status: number; header(name: string): string | null; body: { read(): Promise<Uint8Array | null>; cancel(): void } }>;
}

export interface ShadowTarget {
  pool: string;
  backendId: string;
  baseUrl: string;
  /** Model name to send (the shadow's model, or the arm's model for a noise leg). */
  upstreamModel: string;
}

export interface ShadowLegInput {
  target: ShadowTarget;
  /** e.g. /v1/chat/completions */
  path: string;
  /** The client's parsed request body; copied, never mutated. */
  body: Record<string, unknown>;
  /** Headers for the backend (the pool's static credentials; never the client's API key). */
  headers: Record<string, string>;
  /** 'shadow' or 'noise' (goes into the shadow header so the backend can tell them apart). */
  kind: 'shadow' | 'noise';
  timeoutMs: number;
  connectTimeoutMs?: number;
  /** Body bytes read at most; the rest is cancelled and the leg marked truncated. */
  maxBodyBytes?: number;
  /** Aborts the leg from outside (shutdown). */
  signal?: AbortSignal;
}

export interface ShadowRunDeps {
  send: ShadowSender['send'];
  now(): number;
}

function failureClass(err: unknown, timedOut: boolean, gotResponse: boolean): ErrorClass {
  if (timedOut) return 'timeout';
  const kind = (err as { kind?: unknown })?.kind;
  if (kind === 'connect' || kind === 'timeout' || kind === 'reset' || kind === 'aborted') return kind;
  if ((err as { name?: unknown })?.name === 'AbortError') return 'aborted';
  return gotResponse ? 'reset' : 'connect';
}

function shadowBody(input: ShadowLegInput): string {
  const body: Record<string, unknown> = { ...input.body, model: input.target.upstreamModel };
  // Ask for usage on streams so the budget and the record get real token counts.
  if (body.stream === true) body.stream_options = { ...(body.stream_options as object | undefined), include_usage: true };
  return JSON.stringify(body);
}

export async function runShadowLeg(deps: ShadowRunDeps, input: ShadowLegInput): Promise<LegOutcome> {
  const stream = input.body.stream === true;
  const startedAt = deps.now();
  const t = input.target;
  const facts = { pool: t.pool, backend: t.backendId, upstreamModel: t.upstreamModel, stream, startedAt };
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(new Error(`shadow leg timed out after ${input.timeoutMs} ms`));
  }, input.timeoutMs);
  const onOuterAbort = () => ac.abort(input.signal?.reason);
  input.signal?.addEventListener('abort', onOuterAbort, { once: true });

  let status = 0;
  let gotResponse = false;
  const observer = new CompletionStreamObserver({ startedAt, collectText: true });
  let reader: { read(): Promise<Uint8Array | null>; cancel(): void } | null = null;
  // A stalled connect may never settle: the wait for the response is raced once against the abort. A stalled body
  // read ends when the abort cancels the body (rejected on Node, done for a web stream); racing every read
  // against one promise instead would leave a reaction per chunk on it, holding every chunk until the leg ended.
  const { aborted, dispose } = abortPromise(ac.signal);
  aborted.catch(() => reader?.cancel());
  try {
    const sending = deps.send({
      baseUrl: t.baseUrl,
      path: input.path,
      method: 'POST',
      headers: { ...input.headers, 'content-type': 'application/json', [SHADOW_HEADER]: input.kind === 'noise' ? '1; kind=noise' : '1' },
      body: shadowBody(input),
      signal: ac.signal,
      connectTimeoutMs: input.connectTimeoutMs ?? 5000,
    });
    const res = await Promise.race([sending, aborted]).catch((err: unknown) => {
      sending.then((late) => late.body.cancel(), () => {}); // release a response that arrives after the abort
      throw err;
    });
    gotResponse = true;
    status = res.status;
    reader = res.body;
    const maxBytes = input.maxBodyBytes ?? 8 * 1024 * 1024;
    const isSse = stream && status < 400;
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for (;;) {
      const chunk = await reader.read();
      if (ac.signal.aborted) throw ac.signal.reason;
      if (!chunk) break;
      bytes += chunk.byteLength;
      if (bytes > maxBytes) {
        reader.cancel();
        return legFromSummary({ ...facts, status, endedAt: deps.now(), summary: observer.summary, errorClass: 'truncated', errorMessage: `body exceeds ${maxBytes} bytes` });
      }
      if (isSse) observer.push(chunk, deps.now());
      else {
        if (parts.length === 0) observer.push(new Uint8Array(0), deps.now()); // records first-byte time
        parts.push(chunk);
      }
    }
    const endedAt = deps.now();
    if (isSse) return legFromSummary({ ...facts, status, endedAt, summary: observer.end(endedAt) });
    const text = new TextDecoder().decode(concat(parts, bytes));
    const summary = { ...summariseCompletionBody(text), ttftMs: null, firstByteMs: observer.summary.firstByteMs };
    if (status >= 400) return legFromSummary({ ...facts, status, endedAt, summary, errorMessage: summary.error ?? text.slice(0, 300) });
    return legFromSummary({ ...facts, status, endedAt, summary });
  } catch (thrown) {
    reader?.cancel();
    // A read that the abort ended may fail with the body's own error: the abort's reason says why.
    const err: unknown = ac.signal.aborted && !timedOut ? (ac.signal.reason ?? thrown) : thrown;
    const message = timedOut ? `shadow leg timed out after ${input.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
    const summary = gotResponse ? observer.end(deps.now()) : null;
    return legFromSummary({ ...facts, status, endedAt: deps.now(), summary, errorClass: failureClass(err, timedOut, gotResponse), errorMessage: message });
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onOuterAbort);
    // workerd keeps a signal it was given (fetch) alive natively: no listener of the leg stays on it.
    dispose();
  }
}

/** A promise that rejects when `signal` aborts, and a dispose() that removes its listener. */
function abortPromise(signal: AbortSignal): { aborted: Promise<never>; dispose(): void } {
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return { aborted, dispose: () => signal.removeEventListener('abort', onAbort) };
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
