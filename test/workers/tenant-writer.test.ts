// The TenantWriter Durable Object bound as TENANT_WRITER, called through Workers RPC the way KvTenantStore calls
// it: If-Match as compare-and-swap, and arguments it refuses before anything is written.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseTenantConfig } from '../../src/config/schema.ts';
import { stubByName } from '../../src/workers/env.ts';
import { rejectionOf } from '../helpers/rpc.ts';

/** A parsed config as KvTenantStore sends it: JSON text (its records have no prototype, which RPC refuses). */
const config = () => {
  const r = parseTenantConfig({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'b', url: 'http://127.0.0.1:1' }] } } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return JSON.stringify(r.value);
};

describe('TenantWriter over RPC', () => {
  it('writes versions, answers a stale If-Match with the version it holds, and deletes', async () => {
    const writer = stubByName(env.TENANT_WRITER)('tw-cas');
    expect(await writer.record()).toBeNull();
    const first = await writer.put('tw-cas', config());
    expect('done' in first && JSON.parse(first.done)).toMatchObject({ tenantId: 'tw-cas', version: 1, config: { models: { m: { pool: 'p' } } } });
    expect(await writer.put('tw-cas', config(), 0)).toEqual({ conflict: 1 });
    const second = await writer.put('tw-cas', config(), 1);
    expect('done' in second && JSON.parse(second.done)).toMatchObject({ version: 2 });
    expect(JSON.parse((await writer.record())!)).toMatchObject({ version: 2 });
    expect(await env.CONFIG.get('tenant:tw-cas', 'json')).toMatchObject({ version: 2 });
    expect(await writer.remove('tw-cas', 1)).toEqual({ conflict: 2 });
    expect(await writer.remove('tw-cas', 2)).toEqual({ done: true });
    expect(await writer.record()).toBeNull();
    expect(await writer.remove('tw-cas')).toEqual({ done: false });
  });

  it('refuses arguments of another shape before anything is written', async () => {
    const writer = stubByName(env.TENANT_WRITER)('tw-bad');
    expect((await rejectionOf(writer.put('tw-bad', JSON.stringify({ models: 'oops' }))))?.message).toMatch(/^invalid writer request: /);
    expect((await rejectionOf(writer.put('tw-bad', '{"models":')))?.message).toBe('invalid writer request: not JSON text');
    expect((await rejectionOf(writer.put('', config())))?.message).toMatch(/^invalid writer request: /);
    expect((await rejectionOf(writer.put('tw-bad', undefined as never)))?.message).toBe('invalid writer request: put needs a config');
    expect(await writer.record()).toBeNull();
    expect(await env.CONFIG.get('tenant:tw-bad')).toBeNull();
  });
});
