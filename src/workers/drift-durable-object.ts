// Workers side of the drift store: one Durable Object per tenant (`idFromName(tenantId)`) holds that tenant's
// windows, baselines and alert state in its storage, and a DriftStore client that talks to it.
// The class uses the fetch-based Durable Object API and structural types, so it needs no `cloudflare:workers`
// import and the same code is unit-tested on Node with an in-memory storage.
import type { z } from 'zod';
import type { DriftDelta } from '../drift/aggregate.ts';
import type { BaselineMeta } from '../drift/baseline.ts';
import { TenantLedger, type KeyValueRepository } from '../drift/ledger.ts';
import type { BaselineListing, BaselineRequest, DriftReport, DriftReportOptions, DriftStore, IngestResult } from '../drift/store.ts';
import {
  baselineListingSchema,
  baselineMetaSchema,
  baselineRequestSchema,
  driftDeltaSchema,
  driftReportOptionsSchema,
  driftReportSchema,
  ingestResultSchema,
} from '../drift/wire.ts';
import { parseStored, StoredDataError } from '../util/parse-stored.ts';

/** The part of `DurableObjectStorage` used here (KV API; works on SQLite-backed and KV-backed objects). */
export interface DurableObjectStorageLike {
  get<T = unknown>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
  delete(keys: string[]): Promise<number>;
}

export interface DurableObjectStateLike {
  storage: DurableObjectStorageLike;
}

/** Storage's batch delete takes at most 128 keys. */
const DELETE_BATCH = 128;

class StorageRepository implements KeyValueRepository {
  constructor(private readonly storage: DurableObjectStorageLike) {}
  get(key: string): Promise<unknown> {
    return this.storage.get(key);
  }
  put<T>(key: string, value: T): Promise<void> {
    return this.storage.put(key, value);
  }
  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) await this.storage.delete(keys.slice(i, i + DELETE_BATCH));
  }
}

const TENANT_HEADER = 'x-kvroute-tenant';
const ORIGIN = 'https://drift.internal';

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** Export this class from the Worker entry and bind it as DRIFT (see docs/drift.md and docs/operations.md). */
export class DriftDurableObject {
  private ledger: TenantLedger | undefined;
  private readonly repo: StorageRepository;

  /** `now` is for tests; the runtime calls `new DriftDurableObject(ctx, env)`. */
  constructor(
    ctx: DurableObjectStateLike,
    _env?: unknown,
    private readonly now: () => number = Date.now,
  ) {
    this.repo = new StorageRepository(ctx.storage);
  }

  private ledgerFor(tenantId: string): TenantLedger {
    if (!this.ledger || this.ledger.tenantId !== tenantId) this.ledger = new TenantLedger(tenantId, this.repo, this.now);
    return this.ledger;
  }

  async fetch(request: Request): Promise<Response> {
    const tenantId = request.headers.get(TENANT_HEADER);
    if (!tenantId) return json({ error: `missing ${TENANT_HEADER} header` }, 400);
    const ledger = this.ledgerFor(tenantId);
    const url = new URL(request.url);
    // A body of another shape (a caller of another version) is a 400 that names the field, before the ledger runs.
    const body = async <T>(schema: z.ZodType<T>): Promise<T> => {
      const r = schema.safeParse(await request.json<unknown>());
      if (r.success) return r.data;
      const issue = r.error.issues[0];
      throw new RangeError(`invalid ${url.pathname.slice(1)} request${issue?.path.length ? ` at '${issue.path.join('.')}'` : ''}: ${issue?.message}`);
    };
    try {
      if (request.method === 'POST' && url.pathname === '/ingest') return json(await ledger.ingest(await body<DriftDelta>(driftDeltaSchema)));
      if (request.method === 'POST' && url.pathname === '/report') return json(await ledger.report(await body<DriftReportOptions>(driftReportOptionsSchema)));
      if (request.method === 'POST' && url.pathname === '/baseline') return json(await ledger.putBaseline(await body<BaselineRequest>(baselineRequestSchema)));
      if (request.method === 'GET' && url.pathname === '/baselines') return json(await ledger.baselines());
      return json({ error: `no route ${request.method} ${url.pathname}` }, 404);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return json({ error: message }, err instanceof RangeError ? 400 : err instanceof StoredDataError ? err.status : 500);
    }
  }
}

/** The parts of a `DurableObjectNamespace` binding used by the client. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: never): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

/** Raised by the client for a store error; `status` 400 means the request was invalid (e.g. an unknown window). */
export class DriftStoreError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'DriftStoreError';
  }
}

/** DriftStore backed by one DriftDurableObject per tenant. */
export class DurableDriftStore implements DriftStore {
  constructor(private readonly namespace: DurableObjectNamespaceLike) {}

  private async call<T>(schema: z.ZodType<T>, tenantId: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const stub = this.namespace.get(this.namespace.idFromName(tenantId) as never);
    const res = await stub.fetch(`${ORIGIN}${path}`, {
      method,
      headers: { [TENANT_HEADER]: tenantId, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const payload: unknown = await res.json<unknown>().catch(() => undefined);
    if (!res.ok) {
      const error = (payload as { error?: unknown } | undefined)?.error;
      const message = typeof error === 'string' ? error : `drift store HTTP ${res.status}`;
      throw res.status === 400 ? new RangeError(message) : new DriftStoreError(message, res.status);
    }
    return parseStored(schema, payload, `The drift store's answer to ${method} ${path} for tenant '${tenantId}'`, 'The drift Durable Object may run another version of kvroute; deploy one version.');
  }

  ingest(tenantId: string, delta: DriftDelta): Promise<IngestResult> {
    return this.call(ingestResultSchema, tenantId, 'POST', '/ingest', delta);
  }
  report(tenantId: string, opts: DriftReportOptions = {}): Promise<DriftReport> {
    return this.call(driftReportSchema, tenantId, 'POST', '/report', opts);
  }
  putBaseline(tenantId: string, req: BaselineRequest): Promise<BaselineMeta> {
    return this.call(baselineMetaSchema, tenantId, 'POST', '/baseline', req);
  }
  getBaselines(tenantId: string): Promise<BaselineListing> {
    return this.call(baselineListingSchema, tenantId, 'GET', '/baselines');
  }
}
