// The bindings the Worker gets (wrangler.toml), as the runtime and its Durable Objects read them.
import type { WorkerAnalyticsEnv } from './worker-analytics.ts';
import type { DurableObjectNamespaceLike } from './drift-durable-object.ts';

export interface Env extends WorkerAnalyticsEnv {
  CONFIG: KVNamespace;
  /** Per-tenant drift sketches and baselines. */
  DRIFT: DurableObjectNamespaceLike;
  TENANT_WRITER: DurableObjectNamespace;
  BACKEND_MONITOR: DurableObjectNamespace;
  /** Per tenant pool: the shared prefix-popularity board (optional; without it isolates count alone). */
  POPULARITY?: DurableObjectNamespaceLike;
  /** A secret (`wrangler secret put`); `kvroute start` and the tests pass a development one. */
  KVROUTE_ADMIN_TOKEN?: string;
  /** "1" only in local development (`kvroute start`, tests): see src/config/deployment.ts. */
  KVROUTE_LOCAL_DEV?: string;
  /** Read-only deployments (and standalone workerd): the whole tenant snapshot as JSON, instead of KV. */
  KVROUTE_STATIC_CONFIG?: string;
}
