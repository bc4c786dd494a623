// The bindings the Worker gets (wrangler.toml), as the runtime and its Durable Objects read them. The Durable
// Objects are called through Workers RPC: a namespace's stubs carry the object's public methods.
import type { MonitorSnapshot } from '../upstream/monitor-sync.ts';
import type { DriftRpc } from './durable-drift-store.ts';
import type { TenantWriterRpc } from './kv-tenant-store.ts';
import type { BoardRpc } from './popularity-board-rpc.ts';
import type { WorkerAnalyticsEnv } from './worker-analytics.ts';

/** A Durable Object namespace binding whose stubs have the object's RPC methods `S`. */
export interface DurableObjectNamespaceOf<S> {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): DurableObjectStub & S;
}

/** The stub of the object named `name`: the clients take this function, so unit tests can pass plain objects. */
export const stubByName =
  <S>(namespace: DurableObjectNamespaceOf<S>) =>
  (name: string): S =>
    namespace.get(namespace.idFromName(name));

/** The BackendMonitor's RPC method (src/workers/backend-monitor.ts). */
export interface BackendMonitorRpc {
  /** Its latest probe results; starts its probe alarm if none is set. */
  snapshot(): Promise<MonitorSnapshot>;
}

export interface Env extends WorkerAnalyticsEnv {
  CONFIG: KVNamespace;
  /** Per-tenant drift sketches and baselines. */
  DRIFT: DurableObjectNamespaceOf<DriftRpc>;
  TENANT_WRITER: DurableObjectNamespaceOf<TenantWriterRpc>;
  BACKEND_MONITOR: DurableObjectNamespaceOf<BackendMonitorRpc>;
  /** Per tenant pool: the shared prefix-popularity board (optional; without it isolates count alone). */
  POPULARITY?: DurableObjectNamespaceOf<BoardRpc>;
  /** A secret (`wrangler secret put`); `kvroute start` and the tests pass a development one. */
  KVROUTE_ADMIN_TOKEN?: string;
  /** "1" only in local development (`kvroute start`, tests): see src/config/deployment.ts. */
  KVROUTE_LOCAL_DEV?: string;
  /** Read-only deployments (and standalone workerd): the whole tenant snapshot as JSON, instead of KV. */
  KVROUTE_STATIC_CONFIG?: string;
}
