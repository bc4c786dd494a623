// CORS decisions (src/core/cors.ts), the tenant directory's index of allowed origins, and the config field.
import { describe, expect, it } from 'vitest';
import { corsConfigSchema } from '../../../src/config/cors.ts';
import { parseTenantConfig, type TenantConfig } from '../../../src/config/schema.ts';
import { allowsOrigin, corsHeadersFor, preflightMaxAge } from '../../../src/core/cors.ts';
import { defaultPolicyFactory } from '../../../src/routing/policy-factory.ts';
import { TenantDirectory } from '../../../src/tenants/directory.ts';
import { sha256Hex } from '../../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';

function config(cors?: unknown): TenantConfig {
  const r = parseTenantConfig({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'b', url: 'http://127.0.0.1:1' }] } }, ...(cors ? { cors } : {}) });
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.value;
}

async function directoryWith(tenants: Record<string, TenantConfig>) {
  const store = new MemoryTenantStore();
  for (const [id, cfg] of Object.entries(tenants)) {
    await store.putTenant(id, cfg);
    await store.putKey({ keyId: 'k', tenantId: id, hash: await sha256Hex(`key-${id}`), createdAt: '' });
  }
  let now = 0;
  const directory = new TenantDirectory(store, defaultPolicyFactory, 5_000, () => now);
  return { store, directory, advance: (ms: number) => (now += ms) };
}

describe('cors config', () => {
  it('accepts origins as browsers send them, and *; rejects paths, trailing slashes and junk', () => {
    expect(corsConfigSchema.parse({ allowOrigins: ['https://app.example.com', 'http://localhost:5173', '*'] }).maxAgeSeconds).toBe(600);
    for (const bad of ['https://app.example.com/', 'https://app.example.com/path', 'app.example.com', 'HTTPS://APP.EXAMPLE.COM', '']) {
      expect(corsConfigSchema.safeParse({ allowOrigins: [bad] }).success, bad).toBe(false);
    }
    expect(config().cors).toEqual({ allowOrigins: [], maxAgeSeconds: 600 });
  });
});

describe('cors decisions', () => {
  it('an origin is allowed by its tenant only; a config stored before the field existed allows none', () => {
    const cors = { allowOrigins: ['https://a.example'], maxAgeSeconds: 60 };
    expect(allowsOrigin(cors, 'https://a.example')).toBe(true);
    expect(allowsOrigin(cors, 'https://b.example')).toBe(false);
    expect(allowsOrigin({ allowOrigins: ['*'], maxAgeSeconds: 60 }, 'https://b.example')).toBe(true);
    expect(allowsOrigin(undefined, 'https://a.example')).toBe(false);
  });

  it('preflight: answered for an origin some tenant allows, with the smallest max-age among them', async () => {
    const { directory } = await directoryWith({
      a: config({ allowOrigins: ['https://shared.example', 'https://a.example'], maxAgeSeconds: 900 }),
      b: config({ allowOrigins: ['https://shared.example'], maxAgeSeconds: 60 }),
      c: config(),
    });
    const index = await directory.corsOrigins();
    expect(preflightMaxAge(index, 'https://shared.example')).toBe(60);
    expect(preflightMaxAge(index, 'https://a.example')).toBe(900);
    expect(preflightMaxAge(index, 'https://nobody.example')).toBeNull();
  });

  it('actual responses: the authenticated tenant decides; a failed key falls back to the index', async () => {
    const { directory } = await directoryWith({ a: config({ allowOrigins: ['https://a.example'] }), b: config() });
    expect((await corsHeadersFor(directory, 'https://a.example', 'Bearer key-a'))['access-control-allow-origin']).toBe('https://a.example');
    expect(await corsHeadersFor(directory, 'https://a.example', 'Bearer key-b')).toEqual({});
    expect(await corsHeadersFor(directory, 'https://other.example', 'Bearer key-a')).toEqual({});
    expect((await corsHeadersFor(directory, 'https://a.example', 'Bearer wrong'))['access-control-allow-origin']).toBe('https://a.example');
    expect(await corsHeadersFor(directory, 'https://other.example', null)).toEqual({});
  });

  it('the index follows admin writes at once in this instance, and within its TTL elsewhere', async () => {
    const { store, directory, advance } = await directoryWith({ a: config() });
    expect(preflightMaxAge(await directory.corsOrigins(), 'https://new.example')).toBeNull();
    await store.putTenant('a', config({ allowOrigins: ['https://new.example'] }));
    expect(preflightMaxAge(await directory.corsOrigins(), 'https://new.example')).toBeNull(); // cached
    advance(61_000);
    expect(preflightMaxAge(await directory.corsOrigins(), 'https://new.example')).toBe(600);
    await store.putTenant('a', config());
    directory.invalidate('a');
    expect(preflightMaxAge(await directory.corsOrigins(), 'https://new.example')).toBeNull();
  });
});
