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
    expect(r.value.pools['gpu-a']!.backends[0]!.engine).toBe('vllm');
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

  it('formats paths with indices in brackets', () => {
    expect(formatPath(['pools', 'gpu-a', 'backends', 2, 'url'])).toBe('pools.gpu-a.backends[2].url');
  });
});
