// Per-isolate (Workers) / per-process (Node) cache in front of the TenantStore: API-key hash -> tenant, and
// tenant -> compiled runtime config. A short TTL bounds staleness after an admin write on another isolate;
// the isolate that made the write invalidates at once.
import { compileTenant, type PolicyFactory, type RuntimeTenant } from '../runtime-model/compile.ts';
import { errors } from '../api/errors.ts';
import { sha256Hex } from './keys.ts';
import type { TenantStore } from './store.ts';
import { boundedCache, type BoundedCache } from '../util/lru.ts';

interface Cached<T> {
  value: T;
  expires: number;
}

export interface Principal {
  tenant: RuntimeTenant;
  keyId: string;
}

/** What a presented key resolved to; `unknown` is cached too, so a repeated bad key costs no store lookup. */
type KeyLookup = { tenantId: string; keyId: string } | 'unknown';

/** The key of `Authorization: Bearer <key>`, or null when the header is not of that form. */
function bearerKey(authorization: string): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return m ? m[1]! : null;
}

/** Bound on cached key lookups (a flood of random keys must not grow memory without limit). */
const MAX_CACHED_KEYS = 10_000;
/** Bound on compiled tenants kept (each holds its pools' policy state). */
const MAX_CACHED_TENANTS = 10_000;

/** Origin -> the preflight max-age (the smallest among the tenants that allow it); `*` when some tenant allows any. */
export type CorsOriginIndex = ReadonlyMap<string, number>;

/** How long this instance keeps its index of allowed origins (preflights carry no key, so no tenant to look up). */
const CORS_INDEX_TTL_MS = 60_000;

export class TenantDirectory {
  /**
   * Presented key -> its tenant, for the TTL. Keyed by the key itself so that a hot key costs a map lookup, not
   * a SHA-256; this cache lives only in process memory (the stores only ever hold hashes).
   */
  private readonly byKey: BoundedCache<string, KeyLookup>;
  /** Tenant id -> its compiled config (`null`: no such tenant), for the TTL. */
  private readonly runtimes: BoundedCache<string, { value: RuntimeTenant | null }>;
  private corsIndex: Cached<Promise<CorsOriginIndex>> | null = null;
  /** Bumped by invalidate(): a store read that started before an admin write here is not cached after it. */
  private generation = 0;

  constructor(
    readonly store: TenantStore,
    private createPolicy: PolicyFactory,
    ttlMs = 5_000,
    private now: () => number = Date.now,
  ) {
    this.byKey = boundedCache({ max: MAX_CACHED_KEYS, ttlMs, now });
    this.runtimes = boundedCache({ max: MAX_CACHED_TENANTS, ttlMs, now });
  }

  /** Resolves `Authorization: Bearer <key>` to a tenant, or throws 401. */
  async authenticate(authorization: string | null): Promise<Principal> {
    if (!authorization) throw errors.noKey();
    const key = bearerKey(authorization);
    if (!key) throw errors.noKey();
    const found = this.byKey.get(key) ?? (await this.lookupKey(key));
    if (found === 'unknown') throw errors.badKey();
    const tenant = await this.runtime(found.tenantId);
    if (!tenant) throw errors.badKey();
    return { tenant, keyId: found.keyId };
  }

  /**
   * The principal for `authorization` when its key and its tenant are both cached and fresh, without a promise
   * (the request path's usual case); undefined sends the caller to authenticate(), which also answers every error.
   */
  cached(authorization: string | null): Principal | undefined {
    const key = authorization ? bearerKey(authorization) : null;
    if (!key) return undefined;
    const found = this.byKey.get(key);
    if (!found || found === 'unknown') return undefined;
    const tenant = this.runtimes.get(found.tenantId)?.value;
    return tenant ? { tenant, keyId: found.keyId } : undefined;
  }

  async runtime(tenantId: string): Promise<RuntimeTenant | null> {
    return (this.runtimes.get(tenantId) ?? (await this.loadRuntime(tenantId))).value;
  }

  /** A key's tenant from the store, cached for the TTL (a failed read is not cached). */
  private async lookupKey(key: string): Promise<KeyLookup> {
    const generation = this.generation;
    const rec = await this.store.keyByHash(await sha256Hex(key));
    const found: KeyLookup = rec ? { tenantId: rec.tenantId, keyId: rec.keyId } : 'unknown';
    if (generation === this.generation) this.byKey.set(key, found);
    return found;
  }

  private async loadRuntime(tenantId: string): Promise<{ value: RuntimeTenant | null }> {
    const generation = this.generation;
    const stale = this.runtimes.get(tenantId, { allowStale: true })?.value;
    const rec = await this.store.getTenant(tenantId);
    // Keep the compiled form (and its policy state) when the version has not changed.
    const value = !rec ? null : stale && stale.version === rec.version && stale.updatedAt === rec.updatedAt ? stale : compileTenant(rec, this.createPolicy);
    if (generation === this.generation) this.runtimes.set(tenantId, { value });
    return { value };
  }

  /**
   * Every origin some tenant's `cors.allowOrigins` lists, for answering CORS preflights. Built from the store (one
   * list and one read per tenant) at most once a minute per instance, and at once after an admin write here.
   */
  corsOrigins(): Promise<CorsOriginIndex> {
    const t = this.now();
    if (this.corsIndex && this.corsIndex.expires >= t) return this.corsIndex.value;
    const value = this.buildCorsIndex();
    this.corsIndex = { value, expires: t + CORS_INDEX_TTL_MS };
    value.catch(() => (this.corsIndex = null)); // a store outage is not cached
    return value;
  }

  private async buildCorsIndex(): Promise<CorsOriginIndex> {
    const index = new Map<string, number>();
    const records = await Promise.all((await this.store.listTenants()).map((id) => this.store.getTenant(id)));
    for (const rec of records) {
      const cors = rec?.config.cors;
      if (!cors) continue;
      for (const origin of cors.allowOrigins) index.set(origin, Math.min(index.get(origin) ?? Infinity, cors.maxAgeSeconds));
    }
    return index;
  }

  /** Drops cached entries after an admin write in this isolate. */
  invalidate(tenantId?: string): void {
    this.corsIndex = null;
    this.generation++;
    if (tenantId === undefined) {
      this.runtimes.clear();
      this.byKey.clear();
      return;
    }
    this.runtimes.delete(tenantId);
    const gone = [...this.byKey.entries()].filter(([, found]) => found === 'unknown' || found.tenantId === tenantId);
    for (const [key] of gone) this.byKey.delete(key);
  }
}
