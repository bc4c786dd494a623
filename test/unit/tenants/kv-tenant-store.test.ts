// KvTenantStore (src/workers/kv-tenant-store.ts) against a KV that, like Workers KV, hands out a fresh object on
// every JSON read: records are parsed before they are trusted, a tenant's config once per version.
import { describe, expect, it } from 'vitest';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import { KvTenantStore } from '../../../src/workers/kv-tenant-store.ts';
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

function store() {
  const data = new Map<string, string>();
  const kv = new KvTenantStore({ kv: fakeKv(data), writer: () => ({ fetch: async () => new Response('unused', { status: 500 }) }) });
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
