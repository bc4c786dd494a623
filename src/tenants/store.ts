// Where tenants' configs and API-key hashes live. One interface; implementations per runtime:
// memory (tests), file (Node), KV + a serialising Durable Object (Workers), static JSON (read-only deployments).
import type { TenantConfig } from '../config/schema.ts';

export interface TenantRecord {
  tenantId: string;
  /** Bumped on every write; used as the ETag, checked against If-Match. */
  version: number;
  config: TenantConfig;
  updatedAt: string;
}

export interface ApiKeyRecord {
  keyId: string;
  tenantId: string;
  /** SHA-256 hex of the full plain key. */
  hash: string;
  name?: string;
  createdAt: string;
}

export class VersionConflict extends Error {
  constructor(readonly current: number | null) {
    super(current === null ? 'tenant does not exist' : `tenant is at version ${current}`);
  }
}

export interface TenantStore {
  getTenant(tenantId: string): Promise<TenantRecord | null>;
  /** A strongly consistent read where the hot-path read may lag (KV); used for admin reads and ETags. */
  getTenantLatest?(tenantId: string): Promise<TenantRecord | null>;
  /** Creates or replaces. `ifMatch` (a version) makes the write conditional; 0 means "must not exist yet". */
  putTenant(tenantId: string, config: TenantConfig, ifMatch?: number): Promise<TenantRecord>;
  /** Deletes the tenant and all its keys. Returns false when it did not exist. */
  deleteTenant(tenantId: string, ifMatch?: number): Promise<boolean>;
  listTenants(): Promise<string[]>;
  keyByHash(hash: string): Promise<ApiKeyRecord | null>;
  putKey(record: ApiKeyRecord): Promise<void>;
  deleteKey(tenantId: string, keyId: string): Promise<boolean>;
  listKeys(tenantId: string): Promise<ApiKeyRecord[]>;
}

/** The conditional-write rule shared by every store. */
export function checkVersion(current: TenantRecord | null, ifMatch: number | undefined): void {
  if (ifMatch === undefined) return;
  const have = current?.version ?? 0;
  if (have !== ifMatch) throw new VersionConflict(current ? current.version : null);
}

/** Serialisable snapshot of a whole store: the config-file format on Node and the static-config format. */
export interface StoreSnapshot {
  tenants: Record<string, { version?: number; config: unknown; updatedAt?: string }>;
  keys: ApiKeyRecord[];
}

/** In-memory store; also the engine behind the file store (which reloads and persists snapshots). */
export class MemoryTenantStore implements TenantStore {
  protected tenants = new Map<string, TenantRecord>();
  protected keys = new Map<string, ApiKeyRecord>();

  async getTenant(id: string) {
    return this.tenants.get(id) ?? null;
  }
  async putTenant(id: string, config: TenantConfig, ifMatch?: number) {
    const cur = this.tenants.get(id) ?? null;
    checkVersion(cur, ifMatch);
    const rec: TenantRecord = { tenantId: id, version: (cur?.version ?? 0) + 1, config, updatedAt: new Date().toISOString() };
    this.tenants.set(id, rec);
    return rec;
  }
  async deleteTenant(id: string, ifMatch?: number) {
    const cur = this.tenants.get(id) ?? null;
    checkVersion(cur, ifMatch);
    if (!cur) return false;
    this.tenants.delete(id);
    for (const [h, k] of this.keys) if (k.tenantId === id) this.keys.delete(h);
    return true;
  }
  async listTenants() {
    return [...this.tenants.keys()].sort();
  }
  async keyByHash(hash: string) {
    return this.keys.get(hash) ?? null;
  }
  async putKey(record: ApiKeyRecord) {
    this.keys.set(record.hash, record);
  }
  async deleteKey(tenantId: string, keyId: string) {
    for (const [h, k] of this.keys) {
      if (k.tenantId === tenantId && k.keyId === keyId) {
        this.keys.delete(h);
        return true;
      }
    }
    return false;
  }
  async listKeys(tenantId: string) {
    return [...this.keys.values()].filter((k) => k.tenantId === tenantId);
  }

  snapshot(): StoreSnapshot {
    const tenants = Object.fromEntries([...this.tenants].map(([id, r]) => [id, { version: r.version, config: r.config, updatedAt: r.updatedAt }]));
    return { tenants, keys: [...this.keys.values()] };
  }

  /** Loads a snapshot; configs must already be validated by the caller. */
  load(snap: { tenants: Record<string, { version?: number; config: TenantConfig; updatedAt?: string }>; keys: ApiKeyRecord[] }) {
    this.tenants.clear();
    this.keys.clear();
    for (const [id, t] of Object.entries(snap.tenants)) {
      this.tenants.set(id, { tenantId: id, version: t.version ?? 1, config: t.config, updatedAt: t.updatedAt ?? new Date(0).toISOString() });
    }
    for (const k of snap.keys) this.keys.set(k.hash, k);
  }
}
