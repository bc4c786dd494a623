// Node upstream client: one undici Pool per backend origin with keep-alive. Bodies are consumed through the
// Readable's async iterator (pull-based); never Readable.toWeb (nodejs/node#54205 kills the process on
// client disconnect).
import { Pool, errors as undiciErrors } from 'undici';
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

export class NodeUpstreamClient implements UpstreamClient {
  private pools = new Map<string, Pool>();
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

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const url = new URL(req.baseUrl);
    const prefix = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
    const pool = this.pool(url.origin, req.connectTimeoutMs);
    let res;
    try {
      res = await pool.request({
        path: prefix + req.path,
        method: req.method,
        headers: req.headers,
        body: req.body,
        // undici takes any object with addEventListener/removeEventListener as a signal (a LightAbort too).
        signal: req.signal,
      });
    } catch (err) {
      throw classify(err);
    }
    const body = res.body;
    // Destroying an unfinished body emits an AbortError 'error' event; without a listener it would crash the
    // process. Read errors still reach the reader through the async iterator.
    body.on('error', () => {});
    const it = body[Symbol.asyncIterator]();
    const headers = res.headers;
    const reader: BodyReader = {
      async read() {
        try {
          const r = await it.next();
          return r.done ? null : (r.value as Uint8Array);
        } catch (err) {
          throw classify(err);
        }
      },
      cancel() {
        if (!body.destroyed) body.destroy();
      },
    };
    return {
      status: res.statusCode,
      header(name: string) {
        const v = headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
      },
      body: reader,
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => {})));
    this.pools.clear();
  }
}
