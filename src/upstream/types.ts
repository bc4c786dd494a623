// The one place that talks to backends is src/upstream/. This is its runtime-neutral contract: the Node client
// (undici Pool per backend, keep-alive) and the Workers client (fetch) both implement UpstreamClient.
import type { AbortLike } from '../util/abort.ts';

export interface UpstreamRequest {
  /** Backend base URL from config (origin + optional path prefix), e.g. http://127.0.0.1:9100 */
  baseUrl: string;
  /** Path with query, e.g. /v1/chat/completions */
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** An AbortSignal, or the request path's LightAbort (src/util/abort.ts). */
  signal: AbortLike;
  connectTimeoutMs: number;
}

/** A pull-based body: no web-stream machinery on Node, a thin reader over fetch bodies on Workers. */
export interface BodyReader {
  /** Next chunk, or null at the end. Rejects when the upstream breaks or the signal aborts. */
  read(): Promise<Uint8Array | null>;
  /**
   * Where the runtime can tell without waiting (Node): a chunk that has arrived, or null when the body has ended;
   * undefined when read() would wait (or fail).
   */
  readNow?(): Uint8Array | null | undefined;
  /** Stops reading and releases the connection (destroys the socket if the body is not finished). */
  cancel(): void;
}

export interface UpstreamResponse {
  status: number;
  header(name: string): string | null;
  body: BodyReader;
}

export interface UpstreamClient {
  send(req: UpstreamRequest): Promise<UpstreamResponse>;
  close?(): Promise<void>;
}

const decoder = new TextDecoder();

/**
 * Reads a whole (small) body as text. With `idleMs`, a body that sends nothing for that long is cancelled and the
 * read rejects with an UpstreamFailure 'timeout' (a backend that stalls after its first byte must not hold the
 * request forever); `onChunk` hears of every chunk (progress). Chunks that are there already are taken without
 * a wait; the idle timeout is one timer for the whole read, armed at the first wait, that looks at the time since
 * the last chunk when it fires (no timer per chunk).
 */
export async function readAllText(body: BodyReader, maxBytes = 16 * 1024 * 1024, idleMs?: number, onChunk?: () => void): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  const watch = idleMs === undefined ? null : new IdleWatch(body, idleMs);
  try {
    for (;;) {
      let chunk = body.readNow?.();
      if (chunk === undefined) {
        watch?.waiting();
        try {
          chunk = await body.read();
        } catch (err) {
          if (watch?.stalled) throw watch.timeout();
          throw err;
        }
      }
      if (!chunk) {
        // A fetch body's reader ends a pending read as done when the idle watch cancels it: a stall, not an end.
        if (watch?.stalled) throw watch.timeout();
        break;
      }
      watch?.chunk();
      onChunk?.();
      size += chunk.byteLength;
      if (size > maxBytes) {
        body.cancel();
        throw new Error(`upstream body exceeds ${maxBytes} bytes`);
      }
      parts.push(chunk);
    }
  } finally {
    watch?.stop();
  }
  if (parts.length === 1) return decoder.decode(parts[0]);
  const all = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.byteLength;
  }
  return decoder.decode(all);
}

/** readAllText's idle timeout: one timer, armed at the first wait, that looks at the time since the last chunk. */
class IdleWatch {
  stalled = false;
  private lastChunkAt = performance.now();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly body: BodyReader,
    private readonly idleMs: number,
  ) {}

  /** A read is about to wait. */
  waiting(): void {
    if (this.timer === undefined) this.timer = setTimeout(fireIdleWatch, this.idleMs - (performance.now() - this.lastChunkAt), this);
  }

  chunk(): void {
    this.lastChunkAt = performance.now();
  }

  fire(): void {
    const idle = performance.now() - this.lastChunkAt;
    if (idle < this.idleMs) this.timer = setTimeout(fireIdleWatch, this.idleMs - idle, this);
    else {
      this.stalled = true;
      this.body.cancel();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** What the read fails with once the watch has found the body stalled. */
  timeout(): UpstreamFailure {
    return idleTimeout(this.idleMs);
  }
}

function fireIdleWatch(w: IdleWatch): void {
  w.fire();
}

/** Classifies a thrown upstream error for retry/breaker decisions and the client message. */
export type FailureKind = 'connect' | 'timeout' | 'reset' | 'aborted';

export class UpstreamFailure extends Error {
  constructor(readonly kind: FailureKind, message: string) {
    super(message);
  }
}

/** A backend that sent nothing for idleMs while the router waited on it. */
export function idleTimeout(idleMs: number): UpstreamFailure {
  return new UpstreamFailure('timeout', `no data for ${idleMs} ms`);
}
