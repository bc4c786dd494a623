// Puts a generated request on the wire: through undici when it is well-formed HTTP that a real client library
// would send, else byte by byte over a raw socket (raw-http.ts). Either way the result is one Outcome.
import zlib from 'node:zlib';
import { Pool, errors as undiciErrors } from 'undici';
import type { FuzzRequest } from './arbitraries.ts';
import { rawRequest, type RawOutcome } from './raw-http.ts';

export type Outcome = RawOutcome & { via: 'undici' | 'raw' };

/** The body as sent before any Content-Encoding (workerd compresses when the client accepts gzip or br). */
function decoded(o: Outcome): Outcome {
  if (o.kind !== 'answered') return o;
  const coding = (o.answer.headers['content-encoding'] ?? '').trim().toLowerCase();
  const unzip = { gzip: zlib.gunzipSync, br: zlib.brotliDecompressSync, deflate: zlib.inflateSync }[coding];
  if (!unzip || o.answer.body.length === 0) return o;
  try {
    return { ...o, answer: { ...o.answer, body: unzip(o.answer.body) } };
  } catch {
    return o;
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers undici sets itself or refuses to take from the caller. */
const UNDICI_OWN = new Set(['host', 'connection', 'upgrade', 'expect', 'keep-alive', 'te', 'content-length', 'transfer-encoding']);

/** Whether undici can send the request as generated (otherwise it goes raw). */
export function wellFormed(r: FuzzRequest): boolean {
  return (
    !r.raw &&
    r.framing === 'length' &&
    r.version === 'HTTP/1.1' &&
    r.host === '' &&
    TOKEN.test(r.method) &&
    r.method !== 'CONNECT' &&
    /^\/[\x21-\x7e]*$/.test(r.target) &&
    r.target.length < 8_000 &&
    r.headers.every(([n, v]) => TOKEN.test(n) && !UNDICI_OWN.has(n.toLowerCase()) && /^[\x21-\x7e]([\t\x20-\x7e]*[\x21-\x7e])?$|^$/.test(v) && v.length < 8_000)
  );
}

const enc = new TextEncoder();

function bad(n: number): string {
  return ['abc', '-1', '1e3', '0x10', ` ${n}`, `${n}, ${n + 1}`, '99999999999999999999'][n % 7]!;
}

/**
 * The request as bytes: pieces to write in order (with a pause between them for the `slow` framing), and for
 * an upload that lies about its length, the bytes that would complete it.
 */
export function wireOf(r: FuzzRequest, port: number): { pieces: Uint8Array[]; pauseMs: number; rest?: Uint8Array } {
  if (r.raw) return { pieces: [r.raw], pauseMs: 0 };
  const n = r.body.length;
  const lines = [`${r.method} ${r.target} ${r.version}`];
  if (r.host !== null) lines.push(`Host: ${r.host || `127.0.0.1:${port}`}`);
  for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
  let body: Uint8Array = r.body;
  const chunked = (parts: Uint8Array[], last: boolean) => {
    const out: Uint8Array[] = [];
    for (const p of parts) if (p.length) out.push(enc.encode(`${p.length.toString(16)}\r\n`), p, enc.encode('\r\n'));
    if (last) out.push(enc.encode('0\r\n\r\n'));
    return Buffer.concat(out);
  };
  const thirds = [r.body.subarray(0, n / 3), r.body.subarray(n / 3, (2 * n) / 3), r.body.subarray((2 * n) / 3)];
  switch (r.framing) {
    case 'length':
    case 'slow':
      if (n > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(r.method)) lines.push(`Content-Length: ${n}`);
      break;
    case 'length-over':
      lines.push(`Content-Length: ${n + 10}`);
      break;
    case 'length-under':
      lines.push(`Content-Length: ${Math.max(0, n - 5)}`);
      break;
    case 'length-bad':
      lines.push(`Content-Length: ${bad(n)}`);
      break;
    case 'length-and-chunked':
      lines.push(`Content-Length: ${n}`, 'Transfer-Encoding: chunked');
      body = chunked(thirds, true);
      break;
    case 'chunked':
      lines.push('Transfer-Encoding: chunked');
      body = chunked(thirds, true);
      break;
    case 'chunked-bad':
      lines.push('Transfer-Encoding: chunked');
      body = Buffer.concat([enc.encode('zz\r\n'), r.body, enc.encode('\r\n0\r\n\r\n')]);
      break;
    case 'chunked-open':
      lines.push('Transfer-Encoding: chunked');
      body = chunked(thirds, false);
      break;
    case 'unframed':
      break;
  }
  const head = enc.encode(`${lines.join('\r\n')}\r\n\r\n`);
  const rest = r.framing === 'length-over' ? new Uint8Array(10).fill(0x20) : r.framing === 'chunked-open' ? enc.encode('0\r\n\r\n') : undefined;
  if (rest) return { pieces: [Buffer.concat([head, body])], pauseMs: 0, rest };
  if (r.framing === 'slow' && body.length > 1) {
    const half = Math.floor(body.length / 2);
    return { pieces: [Buffer.concat([head, body.subarray(0, half)]), body.subarray(half)], pauseMs: 300 };
  }
  return { pieces: [Buffer.concat([head, body])], pauseMs: 0 };
}

export interface Sender {
  send(r: FuzzRequest): Promise<Outcome>;
  close(): Promise<void>;
}

/** A sender for one target; `deadlineMs` bounds every request (past it the outcome is a hang). */
export function sender(baseUrl: string, deadlineMs: number): Sender {
  const port = Number(new URL(baseUrl).port);
  const pool = new Pool(baseUrl, { connections: 64, keepAliveTimeout: 4_000, headersTimeout: 0, bodyTimeout: 0 });

  const raw = async (r: FuzzRequest): Promise<Outcome> => {
    const { pieces, pauseMs, rest } = wireOf(r, port);
    return { ...(await rawRequest({ port, pieces, pauseMs, deadlineMs, head: r.method === 'HEAD', completion: rest })), via: 'raw' };
  };

  const viaUndici = async (r: FuzzRequest): Promise<Outcome | null> => {
    const started = performance.now();
    const headers = r.headers.flat();
    try {
      const res = await pool.request({
        path: r.target,
        method: r.method,
        headers,
        body: r.body.length || !['GET', 'HEAD'].includes(r.method) ? Buffer.from(r.body) : undefined,
        signal: AbortSignal.timeout(deadlineMs),
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) flat[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
      return { kind: 'answered', answer: { status: res.statusCode, headers: flat, body }, ms: performance.now() - started, via: 'undici' };
    } catch (e) {
      const err = e as Error & { code?: string };
      // Refused before anything was sent: that one goes raw.
      if (err instanceof undiciErrors.InvalidArgumentError) return null;
      const ms = performance.now() - started;
      if (err.name === 'TimeoutError' || err.name === 'AbortError') return { kind: 'hang', ms, partial: Buffer.alloc(0), via: 'undici' };
      return { kind: 'closed', ms, partial: Buffer.alloc(0), error: `${err.code ?? err.name}: ${err.message}`, via: 'undici' };
    }
  };

  return {
    async send(r) {
      if (wellFormed(r)) {
        const out = await viaUndici(r);
        if (out) return decoded(out);
      }
      return decoded(await raw(r));
    },
    close: () => pool.close(),
  };
}
