import { describe, expect, it } from 'vitest';
import { formatPath, parseTenantConfig } from '../../../src/config/schema.ts';

const backend = (id: string, url = `http://127.0.0.1:${9000 + id.length}`) => ({ id, url });
const valid = () => ({
  models: { 'llama-3.1-8b': { pool: 'gpu-a' } },
  pools: { 'gpu-a': { backends: [backend('a'), backend('b')] } },
});

describe('tenant config schema', () => {
  it('fills defaults for timeouts, retry, health, limits and affinity', () => {
    const r = parseTenantConfig(valid());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.retry.maxAttempts).toBeGreaterThan(1);
    // A left-out engine stays left out, so that probes can report it (the router assumes vllm: engines.md).
    expect(r.value.pools['gpu-a']!.backends[0]!.engine).toBeUndefined();
    expect(r.value.affinity.enabled).toBe(true);
    expect(r.value.limits.maxBodyBytes).toBeGreaterThan(0);
  });

  it('points each problem at its path', () => {
    const cfg = valid();
    (cfg.pools['gpu-a'].backends as unknown[]).push({ id: 'c', url: 'not a url' });
    const r = parseTenantConfig(cfg);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toContain('pools.gpu-a.backends[2].url: Invalid URL');
  });

  it('rejects references to unknown pools, duplicate backend ids and unknown fields', () => {
    const r = parseTenantConfig({
      models: { m: { pool: 'nope' } },
      pools: { p: { backends: [backend('a'), backend('a')] } },
      surprise: true,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.some((p) => p.startsWith('models.m.pool:'))).toBe(true);
    expect(r.problems.some((p) => p.startsWith('pools.p.backends[1].id:'))).toBe(true);
    expect(r.problems.some((p) => p.includes('surprise'))).toBe(true);
  });

  it('rejects an unknown routing policy with the list of known ones', () => {
    const r = parseTenantConfig({ ...valid(), affinity: { policy: 'fastest' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]).toMatch(/^affinity\.policy:/);
  });

  it.each(['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf'])(
    "rejects a model routed to pool '%s' that the config does not define (names are never looked up on Object.prototype)",
    (name) => {
      const r = parseTenantConfig(JSON.parse(JSON.stringify({ ...valid(), models: { m: { pool: name } } })));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.problems.some((p) => p.startsWith('models.m.pool:'))).toBe(true);
    },
  );

  it('rejects an experiment arm or shadow pointing at a prototype name', () => {
    const r = parseTenantConfig({
      ...valid(),
      experiments: [{ name: 'e', model: 'llama-3.1-8b', arms: [{ name: 'a', weight: 100, pool: 'constructor' }], shadow: { pool: 'toString' } }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.some((p) => p.startsWith('experiments[0].arms[0].pool:'))).toBe(true);
    expect(r.problems.some((p) => p.startsWith('experiments[0].shadow.pool:'))).toBe(true);
  });

  it("refuses '__proto__' as a model or pool name instead of dropping it silently", () => {
    const input: unknown = JSON.parse('{"models":{"__proto__":{"pool":"gpu-a"},"ok":{"pool":"gpu-a"}},"pools":{"gpu-a":{"backends":[{"id":"a","url":"http://10.0.0.1"}]}}}');
    const r = parseTenantConfig(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.some((p) => p.startsWith('models.__proto__:'))).toBe(true);
  });

  it('accepts pools and models named like Object.prototype members when they are defined, and keeps them own keys', () => {
    const r = parseTenantConfig({
      models: { constructor: { pool: 'toString' } },
      pools: { toString: { backends: [backend('a')] } },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Object.keys(r.value.pools)).toEqual(['toString']);
    expect(Object.hasOwn(r.value.models, 'constructor')).toBe(true);
    // A lookup of a name the config lacks finds nothing (null-prototype records).
    expect((r.value.pools as Record<string, unknown>)['hasOwnProperty']).toBeUndefined();
  });

  it('formats paths with indices in brackets', () => {
    expect(formatPath(['pools', 'gpu-a', 'backends', 2, 'url'])).toBe('pools.gpu-a.backends[2].url');
  });
});
