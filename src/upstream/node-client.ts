// Node upstream client: one undici Pool per backend origin with keep-alive. Each request is one UpstreamCall, an
// undici dispatch handler that is also the response's pull-based body: chunks go from undici's parser to the
// reader without a Readable stream, its async iterator or their listeners (what pool.request() would add to every
// request), and never through Readable.toWeb (nodejs/node#54205 kills the process on client disconnect).
import { Pool, errors as undiciErrors, util as undiciUtil, type Dispatcher } from 'undici';
import type { AbortLike } from '../util/abort.ts';
import type { BodyReader, UpstreamClient, UpstreamRequest, UpstreamResponse } from './types.ts';
import { UpstreamFailure } from './types.ts';

export interface NodeClientOptions {
  connectionsPerBackend?: number;
}

function classify(err: unknown): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const e = err as { code?: string; name?: string; message?: string };
  const msg = e?.message ?? String(err);
  if (e?.name === 'AbortError' || e?.code === 'UND_ERR_ABORTED') return new UpstreamFailure('aborted', msg);
  if (err instanceof undiciErrors.ConnectTimeoutError || e?.code === 'UND_ERR_CONNECT_TIMEOUT')
    return new UpstreamFailure('timeout', `connect timeout: ${msg}`);
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === 'EHOSTUNREACH')
    return new UpstreamFailure('connect', `${e.code}: ${msg}`);
  if (e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') return new UpstreamFailure('timeout', msg);
  return new UpstreamFailure('reset', msg);
}

/** Body bytes held for a reader that does not keep up before the socket is paused (as a Readable's highWaterMark). */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * One request's life in undici's handler interface (onConnect .. onComplete / onError), and its response: the head
 * resolves send(), body chunks wait in a queue until read() takes them. Aborting the signal aborts the request at
 * whatever stage it is; cancel() ends a body the caller no longer wants (the connection is dropped if unfinished).
 */
class UpstreamCall implements Dispatcher.DispatchHandler, UpstreamResponse, BodyReader {
  status = 0;
  readonly body: BodyReader = this;
  private abortRequest: ((err: Error) => void) | null = null;
  /** Why the request was aborted before undici handed over its abort function. */
  private abortReason: Error | null = null;
  private resumeSocket: (() => void) | null = null;
  private rawHeaders: Buffer[] | null = null;
  private headers: Record<string, string | string[] | undefined> | null = null;
  private queue: Buffer[] = [];
  private queued = 0;
  private paused = false;
  private complete = false;
  private failure: UpstreamFailure | null = null;
  private head: { resolve(r: UpstreamResponse): void; reject(err: UpstreamFailure): void } | null;
  /** The signal's listener (assigned, not a class field: a field's arrow would be renamed per instance by tsx). */
  private readonly abort: () => void;
  private waiter: { resolve(c: Uint8Array | null): void; reject(err: UpstreamFailure): void } | null = null;

  constructor(
    resolve: (r: UpstreamResponse) => void,
    reject: (err: UpstreamFailure) => void,
    private readonly signal: AbortLike,
  ) {
    this.head = { resolve, reject };
    this.abort = () => {
      const err = new undiciErrors.RequestAbortedError();
      if (this.abortRequest) this.abortRequest(err);
      else this.abortReason = err;
    };
    if (signal.aborted) this.abort();
    else signal.addEventListener('abort', this.abort, { once: true });
  }

  private settled(): void {
    this.signal.removeEventListener('abort', this.abort);
  }

  // ---- undici's side -------------------------------------------------------------------------------------------

  onConnect(abort: (err?: Error) => void): void {
    if (this.abortReason) abort(this.abortReason);
    else this.abortRequest = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (status < 200) return true; // an informational answer (103 Early Hints): the real head follows
    this.status = status;
    this.rawHeaders = rawHeaders;
    this.resumeSocket = resume;
    const head = this.head;
    this.head = null;
    head?.resolve(this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve(chunk);
      return true;
    }
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    if (this.queued < HIGH_WATER_BYTES) return true;
    this.paused = true; // undici stops reading the socket until resumeSocket()
    return false;
  }

  onComplete(): void {
    this.complete = true;
    this.settled();
    const w = this.waiter;
    this.waiter = null;
    w?.resolve(null);
  }

  onError(err: Error): void {
    this.settled();
    const f = classify(err);
    const head = this.head;
    this.head = null;
    if (head) {
      head.reject(f);
      return;
    }
    if (!this.failure) this.failure = f;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure);
  }

  // ---- the caller's side ---------------------------------------------------------------------------------------

  header(name: string): string | null {
    const h = (this.headers ??= undiciUtil.parseHeaders(this.rawHeaders ?? []));
    const v = h[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
  }

  private take(): Buffer {
    const chunk = this.queue.shift()!;
    this.queued -= chunk.byteLength;
    if (this.paused && this.queued < HIGH_WATER_BYTES) {
      this.paused = false;
      this.resumeSocket?.();
    }
    return chunk;
  }

  read(): Promise<Uint8Array | null> {
    if (this.queue.length) return Promise.resolve(this.take());
    if (this.failure) return Promise.reject(this.failure);
    if (this.complete) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  readNow(): Uint8Array | null | undefined {
    if (this.queue.length) return this.take();
    return this.failure ? undefined : this.complete ? null : undefined;
  }

  /** Later reads, and one pending now, reject: the body ended without its end. */
  cancel(): void {
    if (this.failure) return;
    this.failure = new UpstreamFailure('reset', 'the response body was cancelled');
    this.queue = [];
    this.queued = 0;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure);
    if (!this.complete) this.abortRequest?.(new undiciErrors.RequestAbortedError());
  }
}

export class NodeUpstreamClient implements UpstreamClient {
  private pools = new Map<string, Pool>();
  /** Backend base URL -> its origin and path prefix (parsed once, not per request). */
  private targets = new Map<string, { origin: string; prefix: string }>();
  constructor(private opts: NodeClientOptions = {}) {}

  private pool(origin: string, connectTimeoutMs: number): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, {
        connections: this.opts.connectionsPerBackend ?? 128,
        connect: { timeout: connectTimeoutMs },
        keepAliveTimeout: 30_000,
        // Timeouts are enforced by the forwarder (first byte, idle) so they can trigger failover cleanly.
        headersTimeout: 0,
        bodyTimeout: 0,
        pipelining: 1,
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  private target(baseUrl: string): { origin: string; prefix: string } {
    let t = this.targets.get(baseUrl);
    if (!t) {
      const url = new URL(baseUrl);
      t = { origin: url.origin, prefix: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '') };
      this.targets.set(baseUrl, t);
    }
    return t;
  }

  send(req: UpstreamRequest): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      try {
        const { origin, prefix } = this.target(req.baseUrl);
        const call = new UpstreamCall(resolve, reject, req.signal);
        this.pool(origin, req.connectTimeoutMs).dispatch({ path: prefix + req.path, method: req.method, headers: req.headers, body: req.body }, call);
      } catch (err) {
        reject(classify(err));
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => {})));
    this.pools.clear();
  }
}
