// The properties every answer is held to, and who gave the answer: kvroute's own code, a backend (relayed), or
// the runtime's HTTP layer before kvroute saw the request (protocol-level answers, listed but not failed).
import { FUZZ, type FuzzRequest, type Principal } from './arbitraries.ts';
import type { Outcome } from './client.ts';
import { wellFormed } from './client.ts';

export type Runtime = 'node' | 'workers';

/** Who answered. `upstream-5xx`: a 5xx that the simulator itself gives for the same body (a simulator defect). */
export type Source = 'kvroute' | 'relayed' | 'protocol' | 'upstream-5xx' | 'closed' | 'hang';

export interface Violation {
  property: 'a: 5xx from kvroute' | 'b: hang' | 'b: dropped' | 'c: error body' | 'd: others not served' | 'd: in-flight not 0' | 'e: cross-tenant';
  message: string;
}

export interface Verdict {
  source: Source;
  /** For protocol-level answers: a short signature (status and the runtime's text) to list them by. */
  signature?: string;
  violations: Violation[];
  /** Relayed error bodies that are not OpenAI-shaped (the backend's own shape, e.g. vLLM's numeric `code`). */
  relayedNonOpenAi?: boolean;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An OpenAI error body: `{"error":{"message":string,"type":string,"param":string|null,"code":string|null}}`. */
export function openAiErrorProblem(value: unknown): string | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const e = (value as { error?: unknown }).error;
  if (!e || typeof e !== 'object' || Array.isArray(e)) return 'no "error" object';
  const { message, type, param, code } = e as Record<string, unknown>;
  if (typeof message !== 'string') return 'error.message is not a string';
  if (typeof type !== 'string') return 'error.type is not a string';
  if (!(param === null || typeof param === 'string')) return 'error.param is not a string or null';
  if (!(code === null || typeof code === 'string')) return 'error.code is not a string or null';
  return null;
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** Error events inside an SSE body that kvroute wrote (`data: {"error":...}`), each checked for the OpenAI shape. */
function sseErrorProblems(body: Buffer): string[] {
  const out: string[] = [];
  for (const line of body.toString('utf8').split('\n')) {
    if (!line.startsWith('data:') || !line.includes('"error"')) continue;
    const j = parseJson(Buffer.from(line.slice(5).trim()));
    const value = j.ok ? j.value : null;
    if (value && typeof value === 'object' && 'error' in value) {
      const p = openAiErrorProblem(value);
      if (p) out.push(`SSE error event: ${p}: ${line.slice(0, 200)}`);
    }
  }
  return out;
}

/** A header value an HTTP parser may refuse: a control character other than tab, DEL, anything beyond Latin-1. */
function oddHeaderValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return true;
  }
  return false;
}

/** Whether the request head itself is something an HTTP parser may refuse (method, target, version, header bytes, Host). */
function headIsOdd(r: FuzzRequest): boolean {
  return (
    !!r.raw ||
    !TOKEN.test(r.method) ||
    r.version !== 'HTTP/1.1' ||
    !/^\/[\x21-\x7e]*$/.test(r.target) ||
    r.host !== '' ||
    r.headers.some(([n, v]) => !TOKEN.test(n) || oddHeaderValue(v) || v !== v.trim())
  );
}

/** A broken head or a framing lie: the runtime's HTTP layer may answer or drop these itself. */
function protocolOdd(r: FuzzRequest): boolean {
  return headIsOdd(r) || !['length', 'chunked', 'slow'].includes(r.framing);
}

/**
 * Requests that may lose their connection without an answer: garbage, a broken head, a framing lie (the body
 * never completes, or its size cannot be read), CONNECT and Upgrade (the runtime hands those elsewhere).
 */
export function mayCloseWithoutAnswer(r: FuzzRequest): boolean {
  if (protocolOdd(r)) return true;
  if (r.method === 'CONNECT') return true;
  return r.headers.some(([n]) => ['upgrade', 'expect', 'connection', 'te', 'content-encoding'].includes(n.toLowerCase()));
}

/**
 * Protocol-level answers: what the runtime's HTTP layer says before (or instead of) running kvroute.
 * Node's http server (llhttp errors, header overflow): a bare status line with `Connection: close`, no body; and
 * its empty 400 to an HTTP/1.1 request without a Host header.
 * workerd's KJ HTTP server: `text/plain` bodies that start "ERROR: ", and a bare 500 "Internal Server Error" (no
 * content-type) when its HTTP layer throws on a request it took (a target or Host it cannot make a URL of, a
 * Content-Length it cannot read; its log says `Uncaught exception: kj/compat/...`); counted as the runtime's only
 * for requests with a broken head or framing; a bare 400 "Bad Request" to a request without a Host header.
 * Miniflare's entry worker (the local runtime's layer in front of the Worker): a 500 with its own stack trace when
 * it could not pass the request on.
 */
function protocolSignature(runtime: Runtime, r: FuzzRequest, o: Outcome & { kind: 'answered' }): string | null {
  const { status, headers, body } = o.answer;
  const names = Object.keys(headers).filter((n) => n !== 'date');
  const text = body.toString('utf8');
  if (runtime === 'node') {
    if ([400, 408, 413, 414, 431, 505].includes(status) && names.every((n) => n === 'connection') && headers.connection === 'close' && body.length === 0) {
      return `${status} (bare, Connection: close)`;
    }
    // http.Server's own answer to an HTTP/1.1 request without a Host header (requireHostHeader), before any listener.
    const noHost = r.raw ? !/\nhost[ \t]*:/i.test(Buffer.from(r.raw).toString('latin1')) : r.host === null && r.version === 'HTTP/1.1';
    if (status === 400 && noHost && !headers['content-type'] && headers.connection === 'close' && body.length === 0) return '400 (empty, Connection: close: HTTP/1.1 without Host)';
    return null;
  }
  const type = headers['content-type'] ?? '';
  if (status >= 400 && type.startsWith('text/plain') && text.startsWith('ERROR: ')) return `${status} ${text.slice(0, 60)}`;
  // The same answer to a HEAD request, whose body is not sent (kvroute never answers text/plain).
  if (status >= 400 && type.startsWith('text/plain') && r.method === 'HEAD' && body.length === 0) return `${status} text/plain to HEAD (workerd's ERROR: answer, body not sent)`;
  if (status === 500 && text === 'Internal Server Error' && type === '' && protocolOdd(r)) return `${status} ${text} (bare: workerd's HTTP layer threw)`;
  if (status === 400 && text === 'Bad Request' && type === '' && r.host === null) return '400 Bad Request (bare: no Host header)';
  // Miniflare's entry worker (the local runtime's layer in front of the Worker) answers its own failures with a stack.
  if (status === 500 && type.startsWith('text/plain') && /^\w*Error: .*\n\s+at .*miniflare\/dist\/src\/workers\/core\/entry\.worker\.js/.test(text)) return `500 miniflare entry worker: ${text.split('\n')[0]!.slice(0, 70)}`;
  return null;
}

function tenantOf(p: Principal): ('a' | 'b')[] {
  if (p === 'a' || p === 'a~') return ['a'];
  if (p === 'b' || p === 'b~') return ['b'];
  if (p === 'both') return ['a', 'b'];
  return [];
}

export interface JudgeContext {
  runtime: Runtime;
  /** Replays a body straight to a simulator: its status, to tell a simulator's own 5xx from kvroute's. */
  simulatorStatus(r: FuzzRequest): Promise<number | null>;
}

/**
 * No answer on Workers that comes from the runtime in front of kvroute: workerd takes a request whose
 * Content-Length is not a number and only throws when the body is read (with a large body nothing comes back).
 */
export function heldByWorkerd(r: FuzzRequest): string | null {
  return r.framing === 'length-bad' ? 'no answer: workerd with an unreadable Content-Length' : null;
}

export async function judge(ctx: JudgeContext, r: FuzzRequest, o: Outcome): Promise<Verdict> {
  const held = o.kind === 'hang' && ctx.runtime === 'workers' ? heldByWorkerd(r) : null;
  if (held) return { source: 'protocol', signature: held, violations: [] };
  if (o.kind === 'hang') return { source: 'hang', violations: [{ property: 'b: hang', message: `no answer and no close within ${Math.round(o.ms)} ms` }] };
  if (o.kind === 'closed') {
    if (mayCloseWithoutAnswer(r)) return { source: 'closed', violations: [] };
    return { source: 'closed', violations: [{ property: 'b: dropped', message: `a well-formed request lost its connection without an answer (${o.error ?? 'closed'}) after ${Math.round(o.ms)} ms` }] };
  }
  const { status, headers, body } = o.answer;
  const signature = protocolSignature(ctx.runtime, r, o);
  if (signature) return { source: 'protocol', signature, violations: [] };

  const violations: Violation[] = [];
  const backend = headers['x-kvroute-backend'];
  if (backend !== undefined) {
    const allowed = tenantOf(r.principal).flatMap((t) => FUZZ.tenants[t].backends as readonly string[]);
    if (!allowed.includes(backend)) violations.push({ property: 'e: cross-tenant', message: `answered by backend '${backend}' for principal '${r.principal}'` });
    let relayedNonOpenAi = false;
    if (status >= 400) {
      const j = parseJson(body);
      relayedNonOpenAi = !j.ok || openAiErrorProblem(j.value) !== null;
    }
    if (status >= 500 && ((await ctx.simulatorStatus(r)) ?? 0) < 500) {
      violations.push({ property: 'a: 5xx from kvroute', message: `relayed ${status} from backend '${backend}', but the simulator does not answer 5xx to this body` });
    }
    return { source: 'relayed', violations, relayedNonOpenAi };
  }

  if (status >= 500) {
    const j = parseJson(body);
    const code = j.ok ? ((j.value as { error?: { code?: unknown } })?.error?.code ?? null) : null;
    if (code === 'upstream_status_error' && ((await ctx.simulatorStatus(r)) ?? 0) >= 500) return { source: 'upstream-5xx', violations: [] };
    violations.push({ property: 'a: 5xx from kvroute', message: `${status} ${body.toString('utf8').slice(0, 300)}` });
  }
  if (status >= 400) {
    const type = headers['content-type'] ?? '';
    if (!/^application\/json\b/.test(type)) violations.push({ property: 'c: error body', message: `${status} with content-type '${type}'` });
    if (r.method !== 'HEAD') {
      const j = parseJson(body);
      const problem = j.ok ? openAiErrorProblem(j.value) : 'not JSON';
      if (problem) violations.push({ property: 'c: error body', message: `${status} error body ${problem}: ${JSON.stringify(body.toString('utf8').slice(0, 200))}` });
    }
  }
  if ((headers['content-type'] ?? '').includes('text/event-stream')) {
    for (const p of sseErrorProblems(body)) violations.push({ property: 'c: error body', message: p });
  }
  return { source: 'kvroute', violations };
}

/** One line that says what was sent, for failure reports (bodies cut to a readable length). */
export function describeRequest(r: FuzzRequest): string {
  if (r.raw) return `${r.what}: raw ${JSON.stringify(Buffer.from(r.raw).toString('latin1').slice(0, 300))}`;
  const body = Buffer.from(r.body).toString('utf8');
  const headers = r.headers.map(([n, v]) => `${n}: ${v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v}`).join(' | ');
  return `${r.what} [${r.framing}${wellFormed(r) ? ', undici' : ', raw'}] ${JSON.stringify(`${r.method} ${r.target.length > 120 ? `${r.target.slice(0, 120)}…(${r.target.length})` : r.target} ${r.version}`)} host=${JSON.stringify(r.host)} principal=${r.principal} headers={${headers}} body(${r.body.length})=${JSON.stringify(body.length > 300 ? `${body.slice(0, 300)}…` : body)}`;
}
