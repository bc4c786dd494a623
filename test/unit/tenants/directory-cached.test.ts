// The tenant directory's synchronous lookup (cached): it answers only from fresh cache entries, with the same
// principal authenticate() gives, and leaves everything else (a new key, an expired entry, a bad key) to it.
import { describe, expect, it } from 'vitest';
import { defaultPolicyFactory } from '../../../src/routing/policy-factory.ts';
import { TenantDirectory } from '../../../src/tenants/directory.ts';
import { sha256Hex } from '../../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { parseTenantConfig } from '../../../src/config/schema.ts';

async function setup() {
  const store = new MemoryTenantStore();
  const parsed = parseTenantConfig({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'b', url: 'https://gpu.example' }] } } });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  await store.putTenant('t1', parsed.value);
  await store.putKey({ keyId: 'k1', tenantId: 't1', hash: await sha256Hex('secret-1'), createdAt: '2026-01-01T00:00:00.000Z' });
  let clock = 0;
  const dir = new TenantDirectory(store, defaultPolicyFactory, 1_000, () => clock);
  return { dir, store, tick: (ms: number) => (clock += ms) };
}

describe('TenantDirectory.cached', () => {
  it('answers from fresh cache entries only, with the principal authenticate() gave', async () => {
    const { dir, tick } = await setup();
    expect(dir.cached('Bearer secret-1')).toBeUndefined(); // nothing looked up yet
    const p = await dir.authenticate('Bearer secret-1');
    const hit = dir.cached('Bearer secret-1');
    expect(hit).toEqual(p);
    expect(hit!.tenant).toBe(p.tenant);
    expect(dir.cached('bearer   secret-1  ')).toEqual(p); // the same header forms authenticate() takes
    tick(1_001);
    expect(dir.cached('Bearer secret-1')).toBeUndefined(); // expired: authenticate() looks again
    await dir.authenticate('Bearer secret-1');
    expect(dir.cached('Bearer secret-1')).toEqual(p);
  });

  it('leaves missing, malformed and unknown keys to authenticate(), which rejects them', async () => {
    const { dir } = await setup();
    await expect(dir.authenticate('Bearer nope')).rejects.toMatchObject({ status: 401 });
    for (const h of [null, '', 'Basic abc', 'Bearer', 'Bearer nope']) expect(dir.cached(h)).toBeUndefined();
  });

  it('an invalidated tenant is looked up again', async () => {
    const { dir } = await setup();
    await dir.authenticate('Bearer secret-1');
    dir.invalidate('t1');
    expect(dir.cached('Bearer secret-1')).toBeUndefined();
  });
});
