// `kvroute serve` as a user runs it: the --config file is loaded whatever the environment sets, and a deployment
// outside local development refuses to start without a real admin token or with a config the egress rules refuse.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelIdsOf } from '../../helpers/responses.ts';
import { runServeExpectingExit, startServe } from './serve-process.ts';

const STRONG = 'e2e-serve-config-token-0123456789abcdef';
const KEY = 'sk-from-config-file-0123456789';
// A private address, as GPU backends have; probes are off, so nothing is ever sent there.
const tenant = (url = 'http://10.0.0.5:8000') => ({
  config: { models: { 'file-model': { pool: 'p' } }, pools: { p: { backends: [{ id: 'a', url }] } }, health: { probeIntervalMs: 0 } },
  apiKeys: [KEY],
});

let dir: string;
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvroute-serve-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('kvroute serve --config', () => {
  it('loads the file when KVROUTE_ADMIN_TOKEN is set (the environment token wins over the file one)', async () => {
    const config = file('with-token.json', { tenants: { acme: tenant() }, adminToken: 'file-admin-token-0123456789abcdefghij' });
    const r = await startServe(['--config', config], { KVROUTE_ADMIN_TOKEN: STRONG });
    try {
      const models = await fetch(`${r.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(models.status).toBe(200);
      expect(await modelIdsOf(models)).toEqual(['file-model']);
      expect((await fetch(`${r.url}/admin/tenants`, { headers: { authorization: `Bearer ${STRONG}` } })).status).toBe(200);
      expect((await fetch(`${r.url}/admin/tenants`, { headers: { authorization: 'Bearer file-admin-token-0123456789abcdefghij' } })).status).toBe(403);
    } finally {
      await r.stop();
    }
  });

  it('serves a read-only config without a token, with the admin API closed', async () => {
    const r = await startServe(['--config', file('read-only.json', { tenants: { acme: tenant() } })], {});
    try {
      expect((await fetch(`${r.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
      expect((await fetch(`${r.url}/admin/tenants`, { headers: { authorization: 'Bearer anything' } })).status).toBe(403);
    } finally {
      await r.stop();
    }
  });
});

describe('kvroute serve refuses to start outside local development', () => {
  it.each([
    ['without a token for a writable state file', {}],
    ['with the old development token', { KVROUTE_ADMIN_TOKEN: 'dev-admin-token' }],
    ['with a short token', { KVROUTE_ADMIN_TOKEN: 'only-twenty-chars-xx' }],
  ])('%s, saying what to set', async (_, env: Record<string, string>) => {
    const run = await runServeExpectingExit(['--state', join(dir, 'state.json')], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('KVROUTE_ADMIN_TOKEN');
    expect(run.stderr).toContain('KVROUTE_LOCAL_DEV=1');
  });

  it('with a loopback backend in the config file, naming it', async () => {
    const config = file('loopback.json', { tenants: { acme: tenant('http://127.0.0.1:8000') } });
    const run = await runServeExpectingExit(['--config', config], { KVROUTE_ADMIN_TOKEN: STRONG });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('tenants.acme.config.pools.p.backends[0].url');
    expect(run.stderr).toContain('loopback');
  });

  it('but starts in local development with the development token and loopback backends', async () => {
    const config = file('dev.json', { tenants: { acme: tenant('http://127.0.0.1:8000') } });
    const r = await startServe(['--config', config], { KVROUTE_ADMIN_TOKEN: 'dev-admin-token', KVROUTE_LOCAL_DEV: '1' });
    try {
      expect((await fetch(`${r.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
    } finally {
      await r.stop();
    }
  });
});
