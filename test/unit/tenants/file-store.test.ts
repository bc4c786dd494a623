// The Node state file shared by several stores (as by several replicas): writes apply to what is on disk, reads
// notice the other writer's changes, a damaged file never replaces the last good copy. The clock is injected.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminTokenProblem } from '../../../src/config/deployment.ts';
import { parseTenantConfig, type TenantConfig } from '../../../src/config/schema.ts';
import { FileTenantStore } from '../../../src/tenants/file-store.ts';

let dir: string;
let path: string;
let clock = 0;
const now = () => clock;
const key = (keyId: string) => ({ keyId, tenantId: 'acme', hash: keyId.padEnd(64, '0'), createdAt: new Date(0).toISOString() });

function config(): TenantConfig {
  const r = parseTenantConfig({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'a', url: 'http://10.0.0.5:8000' }] } } });
  if (!r.ok) throw new Error(r.problems.join());
  return r.value;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvroute-state-file-'));
  path = join(dir, 'state.json');
  clock = 0;
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('FileTenantStore on a shared file', () => {
  it('a write through one store keeps what another store wrote meanwhile', async () => {
    const a = new FileTenantStore(path, { now });
    const b = new FileTenantStore(path, { now });
    await a.putTenant('acme', config());
    await a.putKey(key('a1'));
    expect(await b.listKeys('acme')).toHaveLength(1); // an admin read looks at the file
    await a.deleteKey('acme', 'a1');
    await b.putKey(key('b1'));
    const reread = new FileTenantStore(path, { now });
    expect((await reread.listKeys('acme')).map((k) => k.keyId)).toEqual(['b1']);
  });

  it('the request path looks at the file at most once per recheck interval; admin reads always', async () => {
    const a = new FileTenantStore(path, { now, recheckMs: 1_000 });
    const b = new FileTenantStore(path, { now, recheckMs: 1_000 });
    await a.putTenant('acme', config());
    expect(await b.getTenant('acme')).toBeNull(); // checked at construction, clock has not moved
    expect(await b.getTenantLatest('acme')).not.toBeNull();
    await a.deleteTenant('acme');
    expect(await b.getTenant('acme')).not.toBeNull();
    clock += 1_000;
    expect(await b.getTenant('acme')).toBeNull();
  });

  it('If-Match is checked against the file, not against a stale copy', async () => {
    const a = new FileTenantStore(path, { now });
    const b = new FileTenantStore(path, { now });
    await a.putTenant('acme', config());
    await b.putTenant('acme', config(), 1);
    await expect(a.putTenant('acme', config(), 1)).rejects.toThrow(/version 2/);
  });

  it('keeps the last good copy when the file is damaged, and refuses to start from a damaged file', async () => {
    const a = new FileTenantStore(path, { now });
    await a.putTenant('acme', config());
    writeFileSync(path, '{"tenants": {');
    expect(await a.getTenantLatest('acme')).not.toBeNull();
    expect(() => new FileTenantStore(path, { now })).toThrow();
  });
});

describe('admin token rules', () => {
  const strong = 'k7Qf2vXp9LmR4tWz8bYc1nHs6dJg3aEu';
  it.each([
    [{ token: undefined, localDev: false, readOnly: false }, /No admin token/],
    [{ token: undefined, localDev: false, readOnly: true }, null],
    [{ token: 'dev-admin-token', localDev: false, readOnly: true }, /well-known/],
    [{ token: 'DEV-ADMIN-TOKEN', localDev: false, readOnly: false }, /well-known/],
    [{ token: strong.slice(0, 31), localDev: false, readOnly: false }, /shorter than 32/],
    [{ token: 'ab'.repeat(20), localDev: false, readOnly: false }, /too few characters/],
    [{ token: strong, localDev: false, readOnly: false }, null],
    [{ token: 'dev-admin-token', localDev: true, readOnly: false }, null],
    [{ token: undefined, localDev: true, readOnly: false }, null],
  ])('%o -> %s', (setup, want) => {
    const problem = adminTokenProblem(setup);
    if (want === null) expect(problem).toBeNull();
    else {
      expect(problem).toMatch(want);
      expect(problem).toContain('KVROUTE_LOCAL_DEV=1');
    }
  });
});
