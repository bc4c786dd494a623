// The prober's target list (src/upstream/probe.ts): a tenant whose stored record cannot be read is skipped, and
// every other tenant's backends are still probed.
import { expect, it } from 'vitest';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { BackendStates } from '../../../src/upstream/backend-state.ts';
import { NodeUpstreamClient } from '../../../src/upstream/node-client.ts';
import { HealthProber } from '../../../src/upstream/probe.ts';

class OneBrokenRecord extends MemoryTenantStore {
  override async getTenant(id: string) {
    if (id === 'broken') throw new Error("The stored config of tenant 'broken' does not have the expected shape");
    return super.getTenant(id);
  }
}

it('a tenant whose record cannot be read does not stop the other tenants being probed', async () => {
  const store = new OneBrokenRecord();
  const r = parseTenantConfig({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'b', url: 'http://127.0.0.1:1/' }] } } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  await store.putTenant('a-sound', r.value);
  await store.putTenant('broken', r.value);
  const client = new NodeUpstreamClient();
  const prober = new HealthProber(store, new BackendStates(), client, () => 0);
  expect((await prober.targets()).map((t) => t.url)).toEqual(['http://127.0.0.1:1']);
  await client.close();
});
