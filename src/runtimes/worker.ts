// Workers runtime binding: KV-backed tenants (writes serialised by a Durable Object per tenant), fetch upstream,
// per-isolate backend state refreshed from the BackendMonitor Durable Object. The Durable Objects and their
// transports are in src/workers/. The app comes from the entry
// (routes/worker.ts, wrangler.toml `main`): the same createApp as on Node.
import type { AppFactory, Platform } from './platform.ts';
import { TenantDirectory } from '../tenants/directory.ts';
import { sha256Hex } from '../tenants/keys.ts';
import { loadSnapshotInto } from '../tenants/load-config.ts';
import { MemoryTenantStore, type TenantStore } from '../tenants/store.ts';
import { parseSnapshot } from '../tenants/snapshot.ts';
import { adminTokenProblem, isLocalDev } from '../config/deployment.ts';
import type { EgressContext } from '../config/egress.ts';
import { errorResponse, HttpError } from '../api/errors.ts';
import { BackendStates } from '../upstream/backend-state.ts';
import { FetchUpstreamClient } from '../upstream/fetch-client.ts';
import { applySnapshot, monitorSnapshotSchema } from '../upstream/monitor-sync.ts';
import { policyFactoryFor, sharedPopularityPolicyFactory } from '../routing/policy-factory.ts';
import { PopularityExchange } from '../routing/popularity-exchange.ts';
import type { Hono } from 'hono';
import { handleEventBatch } from '../analytics/delivery/queue.ts';
import { clickhouseQueryable, d1Queryable, type Queryable } from '../analytics/queryable.ts';
import { createClickHouseClient } from '../analytics/sinks/clickhouse.ts';
import { migrateD1 } from '../analytics/sinks/d1.ts';
import { workerAnalytics } from '../workers/worker-analytics.ts';
import { workerSinkFromEnv } from '../workers/worker-sinks.ts';
import { afterResponse } from '../core/after-response.ts';
import { createDriftRecorder } from '../drift/recorder.ts';
import { driftStatusEventOf } from '../analytics/drift-event.ts';
import { ShadowLimiter } from '../experiments/shadow/limiter.ts';
import { DurableDriftStore } from '../workers/durable-drift-store.ts';
import { issueSuffix } from '../util/parse-stored.ts';
import { stubByName, type Env } from '../workers/env.ts';
import { KvTenantStore } from '../workers/kv-tenant-store.ts';
import { durableBoardCall } from '../workers/popularity-board-call.ts';
import { nativeClientBody } from '../workers/client-body.ts';

export type { Env } from '../workers/env.ts';

/** Per-isolate state: built on the first request (bindings arrive with it), reused after. */
interface Isolate {
  app: Hono;
  platform: Platform;
  lastSync: number;
  popularity: PopularityExchange | null;
}

let isolate: Isolate | undefined;
let building: Promise<Isolate> | undefined;
const MONITOR_SYNC_MS = 2_000;

/** A Worker cannot know its own hostname before a request; the admin API adds the one each request reached. */
const egressOf = (env: Env): EgressContext => ({ localDev: isLocalDev(env), self: [] });

async function staticStore(json: string, egress: EgressContext): Promise<TenantStore> {
  const store = new MemoryTenantStore();
  await loadSnapshotInto(store, parseSnapshot(JSON.parse(json), 'KVROUTE_STATIC_CONFIG', egress));
  return store;
}

/** Why this deployment must not serve (no or a weak admin token outside local dev), or null. */
function deploymentProblem(env: Env): string | null {
  return adminTokenProblem({ token: env.KVROUTE_ADMIN_TOKEN, localDev: isLocalDev(env), readOnly: Boolean(env.KVROUTE_STATIC_CONFIG) });
}

function storeOf(env: Env): Promise<TenantStore> | TenantStore {
  if (env.KVROUTE_STATIC_CONFIG) return staticStore(env.KVROUTE_STATIC_CONFIG, egressOf(env));
  return new KvTenantStore({ kv: env.CONFIG, writer: stubByName(env.TENANT_WRITER) });
}

/** The experiment report reads ClickHouse when configured, else the D1 database the Queue consumer fills. */
async function reportQueryable(env: Env): Promise<Queryable> {
  if (env.CLICKHOUSE_URL) {
    const database = env.CLICKHOUSE_DATABASE ?? 'default';
    return clickhouseQueryable(createClickHouseClient({ url: env.CLICKHOUSE_URL, database, username: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD }), database);
  }
  if (!env.ANALYTICS_DB) throw new Error('no analytics store bound (ANALYTICS_DB or CLICKHOUSE_URL)');
  await migrateD1(env.ANALYTICS_DB);
  return d1Queryable(env.ANALYTICS_DB);
}

async function build(env: Env, createApp: AppFactory): Promise<Isolate> {
  const store = await storeOf(env);
  const states = new BackendStates();
  const popularity = env.POPULARITY ? new PopularityExchange(durableBoardCall(stubByName(env.POPULARITY))) : null;
  // Isolates are many and share nothing: each routes a share of a pool's traffic (a pool's `alone` overrides it).
  const directory = new TenantDirectory(store, popularity ? sharedPopularityPolicyFactory(popularity, 'many') : policyFactoryFor('many'), 5_000);
  const now = () => performance.now();
  // Events go through the Queue when one is bound, else straight to the store (ClickHouse and/or D1).
  const analytics = env.EVENTS || env.CLICKHOUSE_URL || env.ANALYTICS_DB ? workerAnalytics(env) : null;
  const emit = analytics ? (events: Parameters<typeof analytics.emit>[0]) => analytics.emit(events) : undefined;
  // Per isolate: sketches accumulate here and are merged into the tenant's Durable Object on flush.
  const driftStore = env.DRIFT ? new DurableDriftStore(stubByName(env.DRIFT)) : null;
  const drift = driftStore ? createDriftRecorder({ store: driftStore, onStatus: (rows) => emit?.(rows.map(driftStatusEventOf)) }) : undefined;
  let reports: Promise<Queryable> | undefined;
  const platform: Platform = {
    runtime: 'workers',
    directory,
    states,
    client: new FetchUpstreamClient(),
    adminTokenHash: env.KVROUTE_ADMIN_TOKEN ? await sha256Hex(env.KVROUTE_ADMIN_TOKEN) : undefined,
    egress: () => egressOf(env),
    now,
    defer: (p) => void p.catch(() => {}),
    clientBody: nativeClientBody,
    hooks: { onRecord: afterResponse({ emit, drift, now, states }), emit, shadowLimiter: emit ? new ShadowLimiter() : undefined },
    driftStore: driftStore ?? undefined,
    reportQueryable: () => (reports ??= reportQueryable(env)),
  };
  return { app: createApp(platform), platform, lastSync: 0, popularity };
}

async function syncFromMonitor(env: Env, iso: Isolate): Promise<void> {
  if (!env.BACKEND_MONITOR || env.KVROUTE_STATIC_CONFIG) return;
  // A monitor that throws leaves the isolate's view as it is (the caller drops the error); a snapshot of another
  // shape (a monitor of another version mid-deploy) is skipped the same way.
  const snap = monitorSnapshotSchema.safeParse(await stubByName(env.BACKEND_MONITOR)('global').snapshot());
  if (!snap.success) {
    console.error(`kvroute: skipped a BackendMonitor snapshot of an unexpected shape${issueSuffix(snap.error)}`);
    return;
  }
  applySnapshot(iso.platform.states, snap.data, iso.platform.now());
}

/** The Worker's handlers around the app `createApp` builds (routes/worker.ts passes routes/app.ts's). */
export const createWorker = (createApp: AppFactory) => ({
  async fetch(req: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    // Checked on every request, before the isolate is built: a misconfigured deployment answers 503 and
    // starts serving as soon as the secret is set, without caching the refusal.
    const refusal = deploymentProblem(env);
    if (refusal) return errorResponse(new HttpError(503, 'server_error', `kvroute is not configured: ${refusal}`, 'admin_token_required'));
    if (!isolate) {
      try {
        isolate = await (building ??= build(env, createApp));
      } catch (err) {
        // A failed start is not cached: the next request builds again (a KV blip must not mean 500 until the
        // isolate is recycled).
        building = undefined;
        console.error('kvroute: start-up failed', err);
        return errorResponse(new HttpError(503, 'server_error', `The router could not start: ${(err as Error).message}. Retry later.`, 'router_starting'));
      }
    }
    const iso = isolate;
    const now = iso.platform.now();
    if (now - iso.lastSync > MONITOR_SYNC_MS) {
      iso.lastSync = now;
      ctx.waitUntil(syncFromMonitor(env, iso).catch(() => {}));
    }
    const res = await iso.app.fetch(req, env, ctx);
    // The routing decision has been made by now; popularity and placements go to the boards after the response,
    // off its path: now if the interval has passed, else when it does (this isolate may see no further request).
    if (iso.popularity?.due(now)) ctx.waitUntil(iso.popularity.sync(now).catch(() => {}));
    else {
      const later = iso.popularity?.syncWhenDue();
      if (later) ctx.waitUntil(later.catch(() => {}));
    }
    return res;
  },

  /** Queue consumer: analytics events to D1 (and ClickHouse when configured), idempotent by event id. */
  async queue(batch: MessageBatch, env: Env): Promise<void> {
    await handleEventBatch(batch, workerSinkFromEnv(env));
  },
}) satisfies ExportedHandler<Env>;
