// Node runtime binding: the Hono app behind @hono/node-server, plus a fast path for the inference routes
// that writes straight to the socket (no web streams on Node: see toolchain notes), undici pools upstream, and
// a file-backed tenant store. Same core code as the Worker.
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { getRequestListener, RequestError } from '@hono/node-server';
import { handleInference, type InferenceDeps, type InferenceRequest, type InferenceResult } from '../core/inference.ts';
import type { ChunkSource } from '../stream/relay.ts';
import { inferenceEndpoints, inferenceKindOf, type InferenceKind } from '../api/openai-api.ts';
import { corsHeadersFor } from '../core/cors.ts';
import type { PolicyFactory } from '../runtime-model/compile.ts';
import { isLocalDev } from '../config/deployment.ts';
import type { HostPort } from '../config/egress.ts';
import { errorResponse, errors, HttpError, toErrorResponse } from '../api/errors.ts';
import type { AppFactory, Platform } from './platform.ts';
import { TenantDirectory } from '../tenants/directory.ts';
import { sha256Hex } from '../tenants/keys.ts';
import type { TenantStore } from '../tenants/store.ts';
import { BackendStates } from '../upstream/backend-state.ts';
import { NodeUpstreamClient } from '../upstream/node-client.ts';
import { policyFactoryFor, sharedPopularityPolicyFactory } from '../routing/policy-factory.ts';
import type { Routers } from '../config/affinity.ts';
import type { PopularityExchange } from '../routing/popularity-exchange.ts';
import { HealthProber } from '../upstream/probe.ts';
import type { NodeAnalytics } from './node-analytics.ts';
import { afterResponse, batched } from '../core/after-response.ts';
import { createDriftRecorder } from '../drift/recorder.ts';
import { driftStatusEventOf } from '../analytics/drift-event.ts';
import { MemoryDriftStore, type DriftStore } from '../drift/store.ts';
import { ShadowLimiter } from '../experiments/shadow/limiter.ts';
import { nodeProcessMetrics } from './node-process-metrics.ts';
import { LightAbort } from '../util/abort.ts';
import { tuneHeapForRequests } from './node-heap.ts';

export interface NodeRouterOptions {
  store: TenantStore;
  port?: number;
  host?: string;
  adminToken?: string;
  /**
   * Local development: loopback backends are allowed (egress rules, src/config/egress.ts). Default: the
   * KVROUTE_LOCAL_DEV environment variable.
   */
  localDev?: boolean;
  /** Directory cache TTL (ms). */
  cacheTtlMs?: number;
  policyFactory?: PolicyFactory;
  /** Durable analytics path and store (request events, shadow pairs, experiment reports). Off when absent. */
  analytics?: NodeAnalytics;
  /** Drift sketches; in-process by default. */
  driftStore?: DriftStore;
  /** Active health/load probes of every configured backend (default on). */
  probes?: boolean;
  /**
   * Prefix popularity shared with other router instances (several Node routers behind one balancer): synced
   * every `syncMs` on a timer. A single Node router needs none; its own counts are the whole traffic.
   */
  popularity?: { exchange: PopularityExchange; syncMs: number };
  /**
   * How many router instances share each pool's traffic (config/affinity.ts): 'one' (default without `popularity`)
   * or 'many' (default with it; also several replicas behind a balancer that share nothing).
   */
  routers?: Routers;
}

export interface CloseOptions {
  /**
   * Drain: stop accepting connections, answer health with 503, and let in-flight requests (SSE streams too)
   * finish for up to this long before the rest are cut (default 0: cut at once).
   */
  graceMs?: number;
  /** Cuts the grace period short when it resolves (e.g. on a second signal). */
  cut?: Promise<unknown>;
}

export interface NodeRouter {
  url: string;
  port: number;
  platform: Platform;
  close(opts?: CloseOptions): Promise<void>;
}

/**
 * Reads the request body with a byte limit and a deadline for the whole body. Over the limit, the 413 goes out
 * at once and the rest of the upload is dropped as it arrives; an upload that is still running when the
 * deadline passes (too slow, or endless) loses its connection.
 */
function readNodeBody(req: http.IncomingMessage, limit: number, timeoutMs: number): string | Promise<string> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) return Promise.reject(errors.tooLarge(limit));
  // Usually the whole (small) body came with the headers and is parsed by now: take it as it is, without a
  // deadline timer, listeners or a promise (nothing can still arrive late or break off).
  if (req.complete && !req.readableFlowing) return readComplete(req, limit);
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      reject(errors.bodyTimeout(timeoutMs));
      req.destroy();
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(errors.tooLarge(limit));
        return;
      }
      parts.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      clearTimeout(timer);
      resolve(parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts).toString('utf8'));
    });
    // The client went away mid-upload.
    const gone = () => {
      clearTimeout(timer);
      reject(errors.clientClosed());
    };
    req.on('error', gone);
    req.on('close', () => {
      if (!req.complete) gone();
    });
  });
}

/** An inference request on Node: methods rather than per-request closures. */
class NodeInferenceRequest implements InferenceRequest {
  readonly path: string;
  /** Aborted when the client goes away before its response has been written. */
  readonly signal = new LightAbort();

  constructor(
    readonly kind: InferenceKind,
    private readonly req: http.IncomingMessage,
  ) {
    this.path = inferenceEndpoints[kind].path;
  }

  header(name: string): string | null {
    const v = this.req.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }

  readBody(limit: number, timeoutMs: number): string | Promise<string> {
    return readNodeBody(this.req, limit, timeoutMs);
  }
}

/** A body that has fully arrived: the buffered bytes, all of them in one read. */
function readComplete(req: http.IncomingMessage, limit: number): string | Promise<string> {
  if (req.readableLength > limit) {
    req.resume(); // dropped, so the connection stays usable
    return Promise.reject(errors.tooLarge(limit));
  }
  const body = req.read() as Buffer | null;
  return body ? body.toString('utf8') : '';
}

/** Writes a buffered body at once (no promise); a stream chunk by chunk. */
function writeResult(res: http.ServerResponse, result: InferenceResult): void | Promise<void> {
  if ('stream' in result) return writeStream(res, result.status, result.headers, result.stream);
  result.headers['content-length'] = String(Buffer.byteLength(result.body));
  res.writeHead(result.status, result.headers);
  res.end(result.body);
}

async function writeStream(res: http.ServerResponse, status: number, headers: Record<string, string>, src: ChunkSource): Promise<void> {
  let closed = false;
  res.on('close', () => {
    if (!res.writableFinished) {
      closed = true;
      src.cancel();
    }
  });
  res.writeHead(status, headers);
  res.flushHeaders();
  for (;;) {
    const chunk = await src.next();
    if (closed) return;
    if (!chunk) break;
    if (!res.write(chunk)) {
      // Wait for drain or close, and remove both listeners either way (events.once would leave one behind
      // per backpressure pause).
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
      if (closed) return;
    }
  }
  res.end();
}

function writeError(res: http.ServerResponse, err: unknown, extraHeaders: Record<string, string> = {}): void {
  const { status, body, headers } = toErrorResponse(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...headers, ...extraHeaders });
  res.end(JSON.stringify(body));
}

/** The addresses a server listening on host:port answers at (every interface's for a wildcard host). */
function selfAddresses(host: string, port: number): HostPort[] {
  const out: HostPort[] = [{ host, port }, { host: os.hostname(), port }];
  if (host === '0.0.0.0' || host === '::') {
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.push({ host: a.address, port });
  }
  return out;
}

/** Serves the app `createApp` builds (routes/node.ts passes routes/app.ts's) on a Node server with this runtime. */
export async function startNodeServer(opts: NodeRouterOptions, createApp: AppFactory): Promise<NodeRouter> {
  tuneHeapForRequests();
  const states = new BackendStates();
  const client = new NodeUpstreamClient();
  const pending = new Set<Promise<unknown>>();
  const routers = opts.routers ?? (opts.popularity ? 'many' : 'one');
  const policyFactory = opts.policyFactory ?? (opts.popularity ? sharedPopularityPolicyFactory(opts.popularity.exchange, routers) : policyFactoryFor(routers));
  const directory = new TenantDirectory(opts.store, policyFactory, opts.cacheTtlMs ?? 5_000);
  const now = () => performance.now();
  const driftStore = opts.driftStore ?? new MemoryDriftStore();
  // Drift status changes go to the analytics store next to the requests (read `emit` at flush time).
  const drift = createDriftRecorder({ store: driftStore, onStatus: (rows) => emit?.(rows.map(driftStatusEventOf)) });
  const emit = opts.analytics ? (events: Parameters<NodeAnalytics['emit']>[0]) => opts.analytics!.emit(events) : undefined;
  let defer: Platform['defer'] = () => {};
  let draining = false;
  const hooks: Platform['hooks'] = {
    onRecord: batched(afterResponse({ emit, drift, now, states }), (p) => defer(p), undefined, () => opts.analytics?.buffer.storeFailing ?? false),
    emit,
    shadowLimiter: emit ? new ShadowLimiter() : undefined,
  };
  const localDev = opts.localDev ?? isLocalDev(process.env);
  const reports = opts.analytics?.queryable;
  /** Where this router answers, once it listens: never a backend. */
  const self: HostPort[] = [];
  const platform: Platform = {
    runtime: 'node',
    directory,
    states,
    client,
    adminTokenHash: opts.adminToken ? await sha256Hex(opts.adminToken) : undefined,
    egress: () => ({ localDev, self }),
    requestTarget: (c) => (c.env as { incoming?: http.IncomingMessage } | undefined)?.incoming?.url,
    now,
    defer(p) {
      const tracked = p.catch((e: unknown) => console.error('kvroute: deferred task failed', e)).finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
    hooks,
    draining: () => draining,
    processMetrics: nodeProcessMetrics,
    driftStore,
    reportQueryable: reports ? () => reports : undefined,
  };
  defer = platform.defer;
  const app = createApp(platform);
  const honoListener = getRequestListener(app.fetch, {
    // The adapter refuses what it cannot turn into a URL (a Host that is not a host name, a target that is not a
    // path): those get an OpenAI-style 400 like every other bad request, not its bare 400.
    errorHandler: (err) =>
      errorResponse(err instanceof RequestError ? new HttpError(400, 'invalid_request_error', `The request could not be read: ${err.message}. Send a valid Host header and request path.`, 'invalid_request') : err),
  });
  const deps: InferenceDeps = { directory, states, client, now, defer: platform.defer, ...hooks };

  const server = http.createServer((req, res) => {
    if (draining) res.shouldKeepAlive = false; // the connection closes after this response
    // The inference routes (any of them, with a trailing slash or a query) skip Hono; everything else goes to it.
    const kind = req.method === 'POST' ? inferenceKindOf((req.url ?? '').split('?', 1)[0]!) : undefined;
    if (!kind) {
      void honoListener(req, res);
      return;
    }
    const inference = new NodeInferenceRequest(kind, req);
    // A browser's request: its CORS headers are worked out alongside (src/core/cors.ts; never rejects).
    const origin = inference.header('origin');
    const cors = origin ? corsHeadersFor(directory, origin, inference.header('authorization')) : null;
    res.on('close', () => {
      if (!res.writableFinished) inference.signal.abort();
    });
    handleInference(inference, deps)
      .then((result) => (cors ? cors.then((h) => (Object.assign(result.headers, h), writeResult(res, result))) : writeResult(res, result)))
      .catch((err: unknown) => (cors ? cors.then((h) => writeError(res, err, h)) : writeError(res, err)));
  });
  server.keepAliveTimeout = 65_000;
  server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  self.push(...selfAddresses(opts.host ?? '127.0.0.1', port));
  const prober = opts.probes === false ? null : new HealthProber(opts.store, states, client, platform.now);
  prober?.start();
  const popularity = opts.popularity;
  const popularityTimer = popularity ? setInterval(() => void popularity.exchange.sync(platform.now()).catch(() => {}), popularity.syncMs) : null;
  popularityTimer?.unref();

  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    platform,
    async close({ graceMs = 0, cut }: CloseOptions = {}) {
      draining = true;
      prober?.stop();
      if (popularityTimer) clearInterval(popularityTimer);
      // Stops accepting and closes idle keep-alive connections; resolves once every connection has closed.
      const closed = new Promise<void>((r) => server.close(() => r()));
      if (graceMs > 0) {
        // A keep-alive connection whose response ends during the drain is idle then: close it too.
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, graceMs))), cut ?? closed]);
        clearInterval(sweep);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await closed;
      await Promise.allSettled([...pending]);
      await drift.flush().catch(() => {});
      await client.close();
    },
  };
}
