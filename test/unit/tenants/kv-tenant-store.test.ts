// KvTenantStore (src/workers/kv-tenant-store.ts) against a KV that, like Workers KV, hands out a fresh object on
// every JSON read: records are parsed before they are trusted, a tenant's config once per version.
import { describe, expect, it } from 'vitest';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import { KvTenantStore, type TenantWriterRpc } from '../../../src/workers/kv-tenant-store.ts';
import { VersionConflict } from '../../../src/tenants/store.ts';
import { stringContaining } from '../../helpers/matchers.ts';

/** The part of a KVNamespace the reads use, over a Map of JSON text. */
function fakeKv(data: Map<string, string>): KVNamespace {
  return {
    get: async (key: string, type?: string) => {
      const text = data.get(key);
      if (text === undefined) return null;
      return type === 'json' ? (JSON.parse(text) as unknown) : text;
    },
  } as unknown as KVNamespace;
}

const config = () => {
  const r = parseTenantConfig({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'b', url: 'http://127.0.0.1:1' }] } } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.value;
};

const unusedWriter = (): TenantWriterRpc => {
  throw new Error('unused');
};

function store(writer: (tenantId: string) => TenantWriterRpc = unusedWriter) {
  const data = new Map<string, string>();
  const kv = new KvTenantStore({ kv: fakeKv(data), writer });
  const put = (rec: unknown) => data.set('tenant:acme', JSON.stringify(rec));
  return { data, kv, put };
}

describe('KvTenantStore reads', () => {
  it('parses a tenant config once per version: the same version gives the same record', async () => {
    const { kv, put } = store();
    put({ tenantId: 'acme', version: 1, updatedAt: '2026-01-01T00:00:00Z', config: config() });
    const first = await kv.getTenant('acme');
    expect(first?.config.pools.p?.backends[0]?.url).toBe('http://127.0.0.1:1');
    expect(await kv.getTenant('acme')).toBe(first);
    put({ tenantId: 'acme', version: 2, updatedAt: '2026-01-02T00:00:00Z', config: config() });
    const second = await kv.getTenant('acme');
    expect(second).not.toBe(first);
    expect(second?.version).toBe(2);
  });

  it('a record of another shape is a 503 stored_data_invalid that names the tenant and the field', async () => {
    const { kv, put } = store();
    put({ tenantId: 'acme', version: 1, updatedAt: '2026-01-01T00:00:00Z', config: { models: 'oops' } });
    await expect(kv.getTenant('acme')).rejects.toMatchObject({
      status: 503,
      code: 'stored_data_invalid',
      message: stringContaining("The stored config of tenant 'acme' does not have the expected shape at 'config.models'"),
    });
    put({ tenantId: 'acme', updatedAt: '2026-01-01T00:00:00Z', config: config() });
    await expect(kv.getTenant('acme')).rejects.toMatchObject({ message: stringContaining("at 'version'") });
  });

  it('a key record of another shape is refused the same way', async () => {
    const { kv, data } = store();
    data.set('key:abc', JSON.stringify({ keyId: 'k', tenantId: 'acme' }));
    await expect(kv.keyByHash('abc')).rejects.toMatchObject({ status: 503, code: 'stored_data_invalid' });
  });
});

/** A TenantWriter stub that answers every call with `answer` (what another version of the writer might send). */
const answering = (answer: unknown): TenantWriterRpc => {
  const call = async () => answer as never;
  return { record: call, put: call, remove: call };
};

describe('KvTenantStore writes through the TenantWriter', () => {
  it("a writer's conflict answer is a VersionConflict with the version it holds", async () => {
    const { kv } = store(() => answering({ conflict: 4 }));
    const err: unknown = await kv.putTenant('acme', config(), 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflict);
    expect((err as VersionConflict).current).toBe(4);
    await expect(kv.deleteTenant('acme', 3)).rejects.toBeInstanceOf(VersionConflict);
  });

  it('a writer answer of another shape is a 503 stored_data_invalid naming the tenant', async () => {
    const { kv } = store(() => answering({ ok: true }));
    await expect(kv.putTenant('acme', config())).rejects.toMatchObject({ status: 503, code: 'stored_data_invalid', message: stringContaining("The TenantWriter's answer to a put for tenant 'acme'") });
    await expect(kv.getTenantLatest('acme')).rejects.toMatchObject({ status: 503, message: stringContaining("The TenantWriter's record of tenant 'acme'") });
  });

  it("a writer's exception reaches the caller", async () => {
    const failing: TenantWriterRpc = { record: () => Promise.reject(new Error('writer down')), put: () => Promise.reject(new Error('writer down')), remove: () => Promise.reject(new Error('writer down')) };
    const { kv } = store(() => failing);
    await expect(kv.putTenant('acme', config())).rejects.toThrow('writer down');
  });
});
