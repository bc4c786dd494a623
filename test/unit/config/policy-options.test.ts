// A pool's policy config is a union on the policy name: each policy accepts exactly the options it reads.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { affinityConfigSchema, affinityPolicyNames } from '../../../src/config/affinity.ts';
import { parseTenantConfig } from '../../../src/config/schema.ts';

const tenant = (affinity: unknown) => ({
  models: { chat: { pool: 'gpu' } },
  pools: { gpu: { backends: [{ id: 'a', url: 'http://10.0.0.1:8000' }], affinity } },
});

describe('per-policy options', () => {
  it("refuses an option the chosen policy does not read, naming the option, the policy and the policy's options", () => {
    const r = parseTenantConfig(tenant({ policy: 'round-robin', options: { loadFactor: 2 } }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      'pools.gpu.affinity.options.loadFactor: not an option of policy round-robin; its options are: (none)',
    ]);
    const c = parseTenantConfig(tenant({ policy: 'consistent-hash', options: { seed: 3 } }));
    expect(c.ok ? [] : c.problems).toEqual([
      'pools.gpu.affinity.options.seed: not an option of policy consistent-hash; its options are: loadFactor, staleLoadMs, keyBlocks, virtualNodes',
    ]);
  });

  it('accepts each policy with the options it reads', () => {
    expect(affinityConfigSchema.parse({ policy: 'random', options: { seed: 7 } }).options).toEqual({ seed: 7 });
    expect(affinityConfigSchema.parse({ policy: 'cache-aware', options: { cacheThreshold: 0.5, indexBlocksPerBackend: 64 } }).options)
      .toEqual({ cacheThreshold: 0.5, indexBlocksPerBackend: 64 });
    expect(affinityConfigSchema.parse({ options: { receipts: 'ignore', loadFactor: 1.5 } })).toMatchObject({ policy: 'prefix-affinity', options: { receipts: 'ignore' } });
  });

  it('names the known policies for an unknown one', () => {
    const r = parseTenantConfig(tenant({ policy: 'fastest' }));
    expect(r.ok ? [] : r.problems.join('\n')).toMatch(/^pools\.gpu\.affinity\.policy: .*round-robin.*cache-aware/);
  });

  it("keeps every policy's defaults", () => {
    // The defaults before the union: the same hashing fields and an empty options object for every policy.
    const before = { enabled: true, blockChars: 512, maxBlocks: 128, options: {} };
    expect(affinityConfigSchema.parse({})).toEqual({ ...before, policy: 'prefix-affinity' });
    expect(affinityConfigSchema.parse({ enabled: false })).toEqual({ ...before, enabled: false, policy: 'prefix-affinity' });
    for (const policy of affinityPolicyNames) expect(affinityConfigSchema.parse({ policy })).toEqual({ ...before, policy });
  });

  it('parses the configs shipped in the repository as before', () => {
    const files = ['wrangler.toml', 'docs/configuration.md', 'docs/routing.md'];
    for (const f of files) {
      // Every `"affinity": {...}` literal in the shipped docs/config that is plain JSON.
      for (const m of readFileSync(f, 'utf8').matchAll(/"affinity":\s*(\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\})/g)) {
        let value: unknown;
        try { value = JSON.parse(m[1]!); } catch { continue; }
        expect(affinityConfigSchema.safeParse(value).success, `${f}: ${m[1]}`).toBe(true);
      }
    }
  });

  it('round-trips any valid per-policy config', () => {
    const num = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    const int = (min: number, max: number) => fc.integer({ min, max });
    const shared = { loadFactor: num(1, 16), staleLoadMs: int(0, 1e6), keyBlocks: int(1, 1024), indexBlocksPerBackend: int(0, 1e5) };
    const perPolicy = {
      'prefix-affinity': fc.record({
        loadFactor: shared.loadFactor, staleLoadMs: shared.staleLoadMs, indexBlocksPerBackend: shared.indexBlocksPerBackend,
        newLoadFactor: num(1, 16), trendMs: int(0, 1e6), trendFactor: num(1, 100), hotShare: num(0.01, 8),
        alone: fc.constantFrom('auto', 'yes', 'no'), prefillFactor: num(1, 16), receipts: fc.constantFrom('use', 'ignore'),
        minLoad: num(0, 1024), lookupMinChars: int(0, 1e6), lookupAfterMs: int(0, 1e6), homeSpread: num(0, 1024), popularityHalfLife: int(8, 1e6),
      }, { requiredKeys: [] }),
      random: fc.record({ seed: fc.integer() }, { requiredKeys: [] }),
      'round-robin': fc.constant({}),
      'least-loaded': fc.constant({}),
      'consistent-hash': fc.record({ loadFactor: shared.loadFactor, staleLoadMs: shared.staleLoadMs, keyBlocks: shared.keyBlocks, virtualNodes: int(1, 1024) }, { requiredKeys: [] }),
      rendezvous: fc.record({ loadFactor: shared.loadFactor, staleLoadMs: shared.staleLoadMs, keyBlocks: shared.keyBlocks }, { requiredKeys: [] }),
      'cache-aware': fc.record({ cacheThreshold: num(0, 1), balanceAbsThreshold: num(0, 1e4), balanceRelThreshold: num(1, 100), indexBlocksPerBackend: shared.indexBlocksPerBackend }, { requiredKeys: [] }),
    };
    expect(Object.keys(perPolicy).sort()).toEqual([...affinityPolicyNames].sort());
    const config = fc.oneof(...affinityPolicyNames.map((policy) => fc.record({
      enabled: fc.boolean(), blockChars: int(4, 16_384).map((n) => n * 4), maxBlocks: int(1, 4096), policy: fc.constant(policy), options: perPolicy[policy] as fc.Arbitrary<object>,
    })));
    fc.assert(fc.property(config, (c) => {
      const parsed = affinityConfigSchema.parse(c);
      expect(parsed).toEqual(c);
      expect(affinityConfigSchema.parse(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
    }), { numRuns: 300 });
  });
});
