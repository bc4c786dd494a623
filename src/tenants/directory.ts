// Per-isolate (Workers) / per-process (Node) cache in front of the TenantStore: API-key hash -> tenant, and
// tenant -> compiled runtime config. A short TTL bounds staleness after an admin write on another isolate;
// the isolate that made the write invalidates at once.
import { compileTenant, type PolicyFactory, type RuntimeTenant } from '../runtime-model/compile.ts';
import { errors } from '../errors.ts';
import { sha256Hex } from './keys.ts';
import type { TenantStore } from './store.ts';

interface Cached<T> {
  value: T;
  expires: number;
}

export interface Principal {
  tenant: RuntimeTenant;
  keyId: string;
}

/** The key of `Authorization: Bearer <key>`, or null when the header is not of that form. */
function bearerKey(authorization: string): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return m ? m[1]! : null;
}

/** Bound on cached key lookups (a flood of random keys must not grow memory without limit). */
const MAX_CACHED_KEYS = 10_000;

/** Origin -> the preflight max-age (the smallest among the tenants that allow it); `*` when some tenant allows any. */
export type CorsOriginIndex = ReadonlyMap<string, number>;

/** How long this instance keeps its index of allowed origins (preflights carry no key, so no tenant to look up). */
const CORS_INDEX_TTL_MS = 60_000;

export class TenantDirectory {
  /**
   * Presented key -> its tenant, for the TTL. Keyed by the key itself so that a hot key costs a map lookup, not
   * a SHA-256; this cache lives only in process memory (the stores only ever hold hashes).
   */
  private byKey = new Map<string, Cached<{ tenantId: string; keyId: string } | null>>();
  private runtimes = new Map<string, Cached<RuntimeTenant | null>>();
  private corsIndex: Cached<Promise<CorsOriginIndex>> | null = null;

  constructor(
    readonly store: TenantStore,
    private createPolicy: PolicyFactory,
    private ttlMs = 5_000,
    private now: () => number = Date.now,
  ) {}

  /** Resolves `Authorization: Bearer <key>` to a tenant, or throws 401. */
  async authenticate(authorization: string | null): Promise<Principal> {
    if (!authorization) throw errors.noKey();
    const key = bearerKey(authorization);
    if (!key) throw errors.noKey();
    const t = this.now();
    let hit = this.byKey.get(key);
    if (!hit || hit.expires < t) {
      const rec = await this.store.keyByHash(await sha256Hex(key));
      hit = { value: rec ? { tenantId: rec.tenantId, keyId: rec.keyId } : null, expires: t + this.ttlMs };
      if (this.byKey.size >= MAX_CACHED_KEYS) this.byKey.clear();
      this.byKey.set(key, hit);
    }
    if (!hit.value) throw errors.badKey();
    const tenant = await this.runtime(hit.value.tenantId);
    if (!tenant) throw errors.badKey();
    return { tenant, keyId: hit.value.keyId };
  }

  /**
   * The principal for `authorization` when its key and its tenant are both cached and fresh, without a promise
   * (the request path's usual case); undefined sends the caller to authenticate(), which also answers every error.
   */
  cached(authorization: string | null): Principal | undefined {
    const key = authorization ? bearerKey(authorization) : null;
    if (!key) return undefined;
    const t = this.now();
    const hit = this.byKey.get(key);
    if (!hit?.value || hit.expires < t) return undefined;
    const rt = this.runtimes.get(hit.value.tenantId);
    if (!rt?.value || rt.expires < t) return undefined;
    return { tenant: rt.value, keyId: hit.value.keyId };
  }

  async runtime(tenantId: string): Promise<RuntimeTenant | null> {
    const t = this.now();
    const hit = this.runtimes.get(tenantId);
    if (hit && hit.expires >= t) return hit.value;
    const rec = await this.store.getTenant(tenantId);
    // Keep the compiled form (and its policy state) when the version has not changed.
    const value = !rec ? null : hit?.value && hit.value.version === rec.version && hit.value.updatedAt === rec.updatedAt ? hit.value : compileTenant(rec, this.createPolicy);
    this.runtimes.set(tenantId, { value, expires: t + this.ttlMs });
    return value;
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
    if (tenantId === undefined) {
      this.runtimes.clear();
      this.byKey.clear();
      return;
    }
    this.runtimes.delete(tenantId);
    for (const [k, c] of this.byKey) if (c.value?.tenantId === tenantId || c.value === null) this.byKey.delete(k);
  }
}
