// What comes back from KV and the Durable Objects is parsed before it is trusted: a tenant record of another shape
// (written by hand, or by another version) fails that tenant's requests with a 503 that says what to do, and no
// one else's.
import { SELF, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/tenants/keys.ts';
import { errorOf, modelIdsOf } from '../helpers/responses.ts';

const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };
const kv = (env as unknown as { CONFIG: KVNamespace }).CONFIG;

async function keyFor(tenantId: string, plain: string): Promise<void> {
  await kv.put(`key:${await sha256Hex(plain)}`, JSON.stringify({ keyId: 'abcd0123', tenantId, hash: await sha256Hex(plain), createdAt: '' }));
}

describe('stored data in workerd', () => {
  it('a malformed tenant record in KV is a 503 for that tenant only, naming the tenant and the field', async () => {
    const config = { models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'a', url: 'http://127.0.0.1:9' }] } }, health: { probeIntervalMs: 0 } };
    expect((await SELF.fetch('http://kvroute/admin/tenants/sound', { method: 'PUT', headers: ADMIN, body: JSON.stringify(config) })).status).toBe(201);
    await keyFor('sound', 'kvr-sound-key-0123456789');
    await kv.put('tenant:warped', JSON.stringify({ tenantId: 'warped', version: 1, updatedAt: '2026-01-01T00:00:00Z', config: { models: 'oops' } }));
    await keyFor('warped', 'kvr-warped-key-0123456789');

    const warped = await SELF.fetch('http://kvroute/v1/models', { headers: { authorization: 'Bearer kvr-warped-key-0123456789' } });
    expect(warped.status).toBe(503);
    const error = await errorOf(warped);
    expect(error).toMatchObject({ type: 'server_error', code: 'stored_data_invalid' });
    expect(error.message).toContain("The stored config of tenant 'warped' does not have the expected shape at 'config.models'");

    const sound = await SELF.fetch('http://kvroute/v1/models', { headers: { authorization: 'Bearer kvr-sound-key-0123456789' } });
    expect(sound.status).toBe(200);
    expect(await modelIdsOf(sound)).toEqual(['m']);
  });
});
