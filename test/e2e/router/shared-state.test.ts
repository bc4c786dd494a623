// Two real `kvroute serve` processes on one --state file: a write by one replica is never undone by the other
// (no resurrected keys, no lost updates), If-Match is a compare-and-swap across processes, and each replica
// picks up the other's changes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/tenants/keys.ts';
import { issuedKeyOf, keyListOf, type IssuedKey } from '../../helpers/responses.ts';
import { startServe, type ServeProcess } from './serve-process.ts';

const TOKEN = 'e2e-shared-state-token-0123456789abcdef';
const ADMIN = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
// Nothing listens there and probes are off: no request ever leaves the machine's loopback.
const CONFIG = { models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'a', url: 'http://127.0.0.1:9' }] } }, health: { probeIntervalMs: 0 } };

let dir: string;
let state: string;
let a: ServeProcess;
let b: ServeProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvroute-shared-state-'));
  state = join(dir, 'state.json');
  const env = { KVROUTE_ADMIN_TOKEN: TOKEN, KVROUTE_LOCAL_DEV: '1' };
  [a, b] = await Promise.all([startServe(['--state', state], env), startServe(['--state', state], env)]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const admin = (r: ServeProcess, path: string, init: RequestInit = {}) => fetch(`${r.url}/admin${path}`, { ...init, headers: { ...ADMIN, ...(init.headers as Record<string, string>) } });

async function issueKey(r: ServeProcess, tenant: string, name: string): Promise<IssuedKey> {
  const res = await admin(r, `/tenants/${tenant}/keys`, { method: 'POST', body: JSON.stringify({ name }) });
  expect(res.status).toBe(201);
  return issuedKeyOf(res);
}

/** The key hashes in the state file on disk. */
function hashesOnDisk(): string[] {
  return (JSON.parse(readFileSync(state, 'utf8')) as { keys: { hash: string }[] }).keys.map((k) => k.hash);
}

/** Polls a replica's /v1/models with a key until it answers `want` (its cache and the file check are bounded). */
async function eventually(r: ServeProcess, key: string, want: number): Promise<number> {
  let status = 0;
  for (let i = 0; i < 150; i++) {
    status = (await fetch(`${r.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status;
    if (status === want) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return status;
}

describe('two Node replicas on one state file', () => {
  it('a key revoked on one replica stays revoked when the other writes from its older view', async () => {
    expect((await admin(a, '/tenants/acme', { method: 'PUT', body: JSON.stringify(CONFIG) })).status).toBe(201);
    const old = await issueKey(a, 'acme', 'old');
    // Replica B reads the state (an admin read looks at the file each time) and so holds the key in memory.
    const seen = await keyListOf(await admin(b, '/tenants/acme/keys'));
    expect(seen.keys.map((k) => k.keyId)).toContain(old.keyId);

    expect((await admin(a, `/tenants/acme/keys/${old.keyId}`, { method: 'DELETE' })).status).toBe(204);
    // B writes next; before, it rewrote the whole file from its memory and brought the revoked key back.
    const fresh = await issueKey(b, 'acme', 'fresh');

    const onDisk = hashesOnDisk();
    expect(onDisk).not.toContain(await sha256Hex(old.key));
    expect(onDisk).toContain(await sha256Hex(fresh.key));
    for (const r of [a, b]) {
      const keys = await keyListOf(await admin(r, '/tenants/acme/keys'));
      expect(keys.keys.map((k) => k.keyId).sort()).toEqual([fresh.keyId]);
    }
    expect(await eventually(a, old.key, 401)).toBe(401);
    expect(await eventually(b, old.key, 401)).toBe(401);
  });

  it("each replica serves a key the other issued, and stops serving it once the other revokes it", async () => {
    await admin(a, '/tenants/globex', { method: 'PUT', body: JSON.stringify(CONFIG) });
    const k = await issueKey(a, 'globex', 'cross');
    expect(await eventually(b, k.key, 200)).toBe(200);
    expect((await admin(a, `/tenants/globex/keys/${k.keyId}`, { method: 'DELETE' })).status).toBe(204);
    expect(await eventually(b, k.key, 401)).toBe(401);
  });

  it('loses no write when both replicas write at once', async () => {
    await admin(a, '/tenants/busy', { method: 'PUT', body: JSON.stringify(CONFIG) });
    const issued = await Promise.all(Array.from({ length: 24 }, (_, i) => issueKey(i % 2 ? a : b, 'busy', `k${i}`)));
    const onDisk = new Set(hashesOnDisk());
    for (const k of issued) expect(onDisk.has(await sha256Hex(k.key))).toBe(true);
    const listed = await keyListOf(await admin(b, '/tenants/busy/keys'));
    expect(listed.keys).toHaveLength(24);
  });

  it('If-Match is a compare-and-swap across the two processes', async () => {
    const created = await admin(a, '/tenants/cas', { method: 'PUT', body: JSON.stringify(CONFIG) });
    const etag = created.headers.get('etag')!;
    const body = JSON.stringify({ ...CONFIG, retry: { maxAttempts: 2 } });
    const [ra, rb] = await Promise.all([
      admin(a, '/tenants/cas', { method: 'PUT', body, headers: { 'if-match': etag } }),
      admin(b, '/tenants/cas', { method: 'PUT', body, headers: { 'if-match': etag } }),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 412]);
    const latest = await admin(b, '/tenants/cas');
    expect(latest.headers.get('etag')).toBe('"2"');
  });
});
