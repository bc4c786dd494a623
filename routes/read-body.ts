// Reading a request body on the web-standard path (Workers, and the Hono routes on Node): bounded in size and time.
import { errors } from '../src/api/errors.ts';

/** Past the limit, the rest of an upload is read and dropped up to this many bytes, so the 413 arrives whole. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;
const utf8 = new TextDecoder();

/**
 * Reads a web request body with a byte limit (counted while reading) and a deadline for the whole body. An upload
 * over the limit, declared or not, is drained (bounded) before the 413: answering while the client is still
 * sending breaks the connection in workerd and its proxies, so the client never sees the 413.
 * A body that breaks while it is read (the connection lost, framing the runtime cannot decode) is a 499.
 */
export async function readLimited(req: Request, limit: number, timeoutMs: number): Promise<string> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > limit + MAX_DRAIN_BYTES) throw errors.tooLarge(limit);
  if (!req.body) return '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(errors.bodyTimeout(timeoutMs)), timeoutMs)));
  late.catch(() => {});
  // The usual case, a declared length within the limit (the runtime holds the client to it): the whole body in
  // one read, raced once against the deadline.
  if (declared <= limit) {
    try {
      const all = await Promise.race([req.arrayBuffer().catch(() => Promise.reject(errors.clientClosed())), late]);
      if (all.byteLength > limit) throw errors.tooLarge(limit);
      return utf8.decode(all);
    } finally {
      clearTimeout(timer);
    }
  }
  const reader = req.body.getReader() as ReadableStreamDefaultReader<Uint8Array>; // a request body is a byte stream
  const parts: Uint8Array[] = [];
  let size = 0;
  const next = () => reader.read().catch(() => Promise.reject(errors.clientClosed()));
  try {
    for (;;) {
      const { done, value } = await Promise.race([next(), late]);
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        if (size > limit + MAX_DRAIN_BYTES) throw errors.tooLarge(limit);
        continue;
      }
      parts.push(value);
    }
  } catch (err) {
    // The rest of the body is left to the runtime: cancelling it under wrangler dev restarted the Worker, and
    // requests of other tenants in flight at that moment got its 503.
    throw size > limit || declared > limit ? errors.tooLarge(limit) : err;
  } finally {
    clearTimeout(timer);
  }
  if (size > limit) throw errors.tooLarge(limit);
  const all = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.byteLength;
  }
  return utf8.decode(all);
}
