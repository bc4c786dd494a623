// The default policy's defences against buying hit rate with tail latency: the deployment decides single- or
// many-router placement from the first request, prefill work is bounded per backend, and the engines' cache
// receipts correct what the policy believes each backend holds.
import { describe, expect, it } from 'vitest';
import { affinityConfigSchema } from '../../../../src/config/affinity.ts';
import { createPolicy } from '../../../../src/routing/policies/index.ts';
import { PrefixAffinityPolicy } from '../../../../src/routing/policies/prefix-affinity.ts';
import { policyFactoryFor } from '../../../../src/routing/policy-factory.ts';
import { candidates, chain, input } from './helpers.ts';

const BLOCK_TOKENS = 128; // 512 characters at ~4 per token

describe('single- or many-router placement, from the deployment', () => {
  const scope = { tenantId: 't', pool: 'p' };
  // Engines that report nothing (openai-compatible): only the router's own in-flight count.
  const silent = candidates(4);

  it('a lone Node router places as the only router from its first request, whatever the engines report', () => {
    const p = policyFactoryFor('one')(affinityConfigSchema.parse({}), scope) as PrefixAffinityPolicy;
    expect(p.isAlone()).toBe(true);
    expect(p.select(input(chain([], 0, 8, 1)), silent).reason).toBe('least-prefill');
  });

  it('one of many routers (Workers isolates, replicas) places by rendezvous; a pool\'s `alone` overrides either', () => {
    const many = policyFactoryFor('many')(affinityConfigSchema.parse({}), scope) as PrefixAffinityPolicy;
    expect(many.isAlone()).toBe(false);
    expect(many.select(input(chain([], 0, 8, 1)), silent).reason).toMatch(/^(new|affinity)/);
    const forced = policyFactoryFor('one')(affinityConfigSchema.parse({ options: { alone: 'no' } }), scope) as PrefixAffinityPolicy;
    expect(forced.isAlone()).toBe(false);
    const lone = policyFactoryFor('many')(affinityConfigSchema.parse({ options: { alone: 'yes' } }), scope) as PrefixAffinityPolicy;
    expect(lone.isAlone()).toBe(true);
  });

  it('the config schema refuses a mode it does not know', () => {
    expect(affinityConfigSchema.safeParse({ options: { alone: 'sometimes' } }).success).toBe(false);
  });
});

describe('bounded prefill work', () => {
  // Backend k holds conversation A; it has `queued` prompt characters still to prefill (its other requests).
  const setup = (queued: number) => {
    const p = createPolicy('prefix-affinity', {}, { routers: 'one' }) as PrefixAffinityPolicy;
    const a = chain([], 0, 10, 1);
    const k = p.select(input(a), candidates(4)).index;
    const busy = candidates(4, (i) => (i === k ? { inflight: 4, awaitingFirstByte: 4, prefillChars: queued } : { inflight: 1 }));
    return { next: p.select(input(chain(a, 10, 4, 2)), busy), k };
  };

  it('a conversation stays where its prefix is while that backend\'s queued prefill is within the bound', () => {
    const { next, k } = setup(10_000); // 2 x the mean (2,500) + one typical request (5,120) = 10,120
    expect(next).toMatchObject({ index: k, reason: 'indexed', matchedBlocks: 10 });
  });

  it('it leaves a backend whose queued prefill is over the bound, though its prefix is cached there', () => {
    // 40k characters queued on k against none elsewhere: prefilling the whole prompt elsewhere ends sooner.
    const { next, k } = setup(40_000);
    expect(next.index).not.toBe(k);
    expect(next.reason).toBe('least-prefill');
  });
});

describe('a lone router places a prompt that is all hot prefix where its first token comes soonest', () => {
  // A tenant's tool definitions (two blocks) start every session; a session's first step adds less than a block,
  // so its hashed prompt is the hot prefix alone. Every backend but one is busy.
  const tools = chain([], 0, 2, 9);
  const warm = () => {
    const p = createPolicy('prefix-affinity', {}, { routers: 'one' }) as PrefixAffinityPolicy;
    for (let k = 0; k < 40; k++) p.select(input(chain(tools, 2, 1, 100 + k), k), candidates(4));
    return p;
  };

  it('it goes to the idle backend, whichever that is, not to the busy ones that hold the prefix', () => {
    for (let idle = 0; idle < 4; idle++) {
      const busy = candidates(4, (i) => (i === idle ? { inflight: 0 } : { inflight: 4, awaitingFirstByte: 4, prefillChars: 8_000 }));
      expect(warm().select(input(tools, 50), busy).index).toBe(idle);
    }
  });
});

describe('cache receipts correct where the policy believes a prefix lives', () => {
  // One backend: conversations A then B placed there; B's next turn comes back with a receipt.
  const run = (cachedBlocksOfB: number | undefined, receipts?: 'use' | 'ignore') => {
    const p = createPolicy('prefix-affinity', receipts ? { receipts } : {}, { routers: 'one' }) as PrefixAffinityPolicy;
    const one = candidates(1);
    const a = chain([], 0, 10, 1);
    const b = chain([], 0, 10, 2);
    p.select(input(a), one);
    p.select(input(b), one);
    const b2 = input(chain(b, 10, 2, 3));
    expect(p.select(b2, one).matchedBlocks).toBe(10);
    if (cachedBlocksOfB !== undefined) p.onReceipt(b2, 'b0', { promptTokens: 12 * BLOCK_TOKENS, cachedTokens: cachedBlocksOfB * BLOCK_TOKENS });
    return p.select(input(chain(a, 10, 2, 4)), one);
  };

  it('without a receipt, or with one that confirms the belief, A is still believed cached', () => {
    expect(run(undefined)).toMatchObject({ reason: 'indexed', matchedBlocks: 10 });
    expect(run(10)).toMatchObject({ reason: 'indexed', matchedBlocks: 10 });
  });

  it('a receipt that did not hit B means the engine evicted B, and A, placed before it, with it', () => {
    // (The engine evicts least recently used first, as the index does.) A's next turn still follows its placement,
    // but is no longer counted as cached there: its prefill is counted in full in the backend's queued work.
    expect(run(0)).toMatchObject({ reason: 'placed', matchedBlocks: 0 });
  });

  it("with receipts: 'ignore' (an engine whose cached counts cannot be trusted) the same receipt changes nothing", () => {
    expect(run(0, 'ignore')).toMatchObject({ reason: 'indexed', matchedBlocks: 10 });
    expect(run(0, 'use')).toMatchObject({ reason: 'placed', matchedBlocks: 0 });
  });
});
