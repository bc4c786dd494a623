// What the app needs from its runtime. src/runtimes/worker.ts and node.ts build one each; core modules import neither.
// The app itself comes from routes/app.ts: the entries (routes/worker.ts, routes/node.ts) hand it to the runtime.
import type { Context, Hono } from 'hono';
import type { Queryable } from '../analytics/queryable.ts';
import type { EgressContext } from '../config/egress.ts';
import type { InferenceDeps } from '../core/inference.ts';
import type { DriftStore } from '../drift/store.ts';
import type { TenantDirectory } from '../tenants/directory.ts';
import type { BackendStates } from '../upstream/backend-state.ts';
import type { UpstreamClient } from '../upstream/types.ts';

export interface Platform {
  runtime: 'node' | 'workers';
  directory: TenantDirectory;
  states: BackendStates;
  client: UpstreamClient;
  /** SHA-256 hex of the admin token; the admin API is closed when unset. */
  adminTokenHash: string | undefined;
  /**
   * The deployment as config validation needs it: local dev or not (KVROUTE_LOCAL_DEV), and the addresses the
   * router answers at (known once it listens). Admin writes check backend and webhook URLs against it.
   */
  egress(): EgressContext;
  /**
   * The request target exactly as the client sent it, before URL normalisation removed `..` segments (Node: the
   * raw `req.url`). Absent where the runtime only has the normalised URL (workerd gives the Worker that).
   */
  requestTarget?(c: Context): string | undefined;
  /** Monotonic ms. */
  now(): number;
  /**
   * Wraps a streamed response body on its way to the client, where the runtime learns of a departed client only
   * through a body of its own (workerd: src/workers/client-body.ts). Absent: the body is sent as it is.
   */
  clientBody?(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array>;
  /** Fallback for work after the response where no execution context exists (Node). */
  defer(p: Promise<unknown>): void;
  /** Per-request hooks: after-response work (analytics, drift) and shadow legs. */
  hooks?: Pick<InferenceDeps, 'onRecord' | 'emit' | 'shadowLimiter'>;
  /** True while the runtime drains before shutdown: health answers 503 so that load balancers stop sending. */
  draining?(): boolean;
  /** Prometheus lines about the router process itself (memory, open handles), where the runtime can see it (Node). */
  processMetrics?(): string[];
  /** Drift sketches and baselines (the admin drift API); that API is absent without one. */
  driftStore?: DriftStore;
  /**
   * The analytics store the reports read (experiment results, cache report); those APIs are absent without one.
   * Called per report request, so a runtime can open the store lazily.
   */
  reportQueryable?: () => Queryable | Promise<Queryable>;
}

/** Builds the app from a Platform: `createApp` (routes/app.ts), passed to a runtime by its entry point. */
export type AppFactory = (platform: Platform) => Hono;
