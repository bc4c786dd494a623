// The tenant directory's caches (src/tenants/directory.ts): key -> tenant and tenant -> compiled config, bounded,
// with a TTL, least recently used out first, failures not cached, reads overtaken by an admin write not cached.
import { describe, expect, it } from 'vitest';
import { parseTenantConfig, type TenantConfig } from '../../../src/config/schema.ts';
import { defaultPolicyFactory } from '../../../src/routing/policy-factory.ts';
import { TenantDirectory } from '../../../src/tenants/directory.ts';
import { sha256Hex } from '../../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';

function config(): TenantConfig {
  const r = parseTenantConfig({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'b', url: 'http://127.0.0.1:1' }] } } });
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.value;
}

/** A memory store that counts its reads and can be told to fail (a store outage). */
class CountingStore extends MemoryTenantStore {
  keyReads = 0;
  tenantReads = 0;
  failing = false;
  /** A real store answers later, so concurrent misses overlap. */
  delayMs = 0;
  override async keyByHash(hash: string) {
    this.keyReads++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failing) throw new Error('store unavailable');
    return super.keyByHash(hash);
  }
  override async getTenant(id: string) {
    this.tenantReads++;
    if (this.failing) throw new Error('store unavailable');
    return super.getTenant(id);
  }
}

async function setup(ttlMs = 5_000) {
  const store = new CountingStore();
  await store.putTenant('t', config());
  await store.putKey({ keyId: 'k', tenantId: 't', hash: await sha256Hex('hot-key'), createdAt: '' });
  let now = 0;
  const directory = new TenantDirectory(store, defaultPolicyFactory, ttlMs, () => now);
  return { store, directory, advance: (ms: number) => (now += ms) };
}

describe('tenant directory caches', () => {
  it('keeps a key in use while a flood of unknown keys passes through (least recently used out, not all at once)', async () => {
    const { store, directory } = await setup();
    await directory.authenticate('Bearer hot-key');
    for (let i = 0; i < 10_050; i++) {
      await expect(directory.authenticate(`Bearer random-${i}`)).rejects.toMatchObject({ status: 401 });
      if (i % 1000 === 0 && i <= 9_000) await directory.authenticate('Bearer hot-key'); // in use, then 1,049 others
    }
    const before = store.keyReads;
    expect((await directory.authenticate('Bearer hot-key')).tenant.tenantId).toBe('t');
    expect(store.keyReads).toBe(before); // still cached: no store read
  }, 60_000); // 10,000 SHA-256 lookups: seconds on a busy machine

  it('reads again after the TTL, and keeps the compiled config (and its policy state) while the version is the same', async () => {
    const { store, directory, advance } = await setup();
    const first = await directory.authenticate('Bearer hot-key');
    advance(4_000);
    await directory.authenticate('Bearer hot-key');
    expect(store.keyReads).toBe(1);
    advance(2_000);
    const again = await directory.authenticate('Bearer hot-key');
    expect(store.keyReads).toBe(2);
    expect(store.tenantReads).toBe(2);
    expect(again.tenant).toBe(first.tenant);
    await store.putTenant('t', config());
    advance(6_000);
    expect((await directory.authenticate('Bearer hot-key')).tenant).not.toBe(first.tenant);
  });

  it('a store outage is not cached: the next request reads the store again', async () => {
    const { store, directory } = await setup();
    store.failing = true;
    await expect(directory.authenticate('Bearer hot-key')).rejects.toThrow('store unavailable');
    store.failing = false;
    expect((await directory.authenticate('Bearer hot-key')).keyId).toBe('k');
  });

  it('an unknown key is remembered for the TTL; invalidate() forgets it at once', async () => {
    const { store, directory } = await setup();
    await expect(directory.authenticate('Bearer new-key')).rejects.toMatchObject({ status: 401 });
    await expect(directory.authenticate('Bearer new-key')).rejects.toMatchObject({ status: 401 });
    expect(store.keyReads).toBe(1);
    await store.putKey({ keyId: 'k2', tenantId: 't', hash: await sha256Hex('new-key'), createdAt: '' });
    directory.invalidate('t');
    expect((await directory.authenticate('Bearer new-key')).keyId).toBe('k2');
  });

  it('an admin write during a store read: the waiting request is answered, what it read is not cached', async () => {
    const { store, directory } = await setup();
    store.delayMs = 5;
    const pending = directory.authenticate('Bearer hot-key');
    directory.invalidate('t');
    expect((await pending).keyId).toBe('k');
    await directory.authenticate('Bearer hot-key');
    expect(store.keyReads).toBe(2);
  });
});
