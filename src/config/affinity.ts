// Prefix-affinity settings of a tenant or a pool: how requests are hashed and which policy picks the backend.
// Validated once when a config is written; the router then uses the parsed value as is.
import { z } from 'zod';

/** Characters per hashed block when the config leaves `blockChars` out (and when a RoutingInput does not say). */
export const DEFAULT_BLOCK_CHARS = 512;

export const affinityPolicyNames = [
  'prefix-affinity',
  'random',
  'round-robin',
  'least-loaded',
  'consistent-hash',
  'rendezvous',
  'cache-aware',
] as const;

export const policyOptionsSchema = z
  .strictObject({
    loadFactor: z.number().min(1).max(16).optional().describe(
      'consistent-hash, rendezvous, prefix-affinity: a backend takes a key only while load <= loadFactor x mean',
    ),
    newLoadFactor: z.number().min(1).max(16).optional().describe(
      'prefix-affinity: the bounded-load factor for a request that starts a new conversation (default 1.5)',
    ),
    keyBlocks: z.number().int().min(1).max(1024).optional().describe(
      'consistent-hash, rendezvous: the key is the hash of this many leading blocks (fewer if the prompt is short)',
    ),
    virtualNodes: z.number().int().min(1).max(1024).optional().describe(
      'consistent-hash: virtual nodes per unit of weight',
    ),
    trendMs: z.number().int().min(0).optional().describe(
      'prefix-affinity: time constant (ms) of the engine-load trend shedding; 0 (default) turns it off',
    ),
    trendFactor: z.number().min(1).optional().describe(
      'prefix-affinity: a backend takes new keys only while its load trend is <= trendFactor x the mean',
    ),
    indexBlocksPerBackend: z.number().int().min(0).optional().describe(
      "prefix-affinity: capacity of the instance's own routing index, per backend in blocks (0 = none)",
    ),
    staleLoadMs: z.number().int().min(0).optional().describe(
      "engine-reported load older than this (ms) is ignored in favour of the router's own in-flight count",
    ),
    hotShare: z.number().gt(0).max(8).optional().describe(
      'prefix-affinity: a prefix carried by more than hotShare / backends of recent requests is hot and is spread',
    ),
    alone: z.enum(['auto', 'yes', 'no']).optional().describe(
      "prefix-affinity: whether this router instance serves the pool alone, overriding the deployment's `routers` " +
      "(default: 'yes' where it is 'one', 'no' where it is 'many'). 'auto' tells from engine reports instead, which " +
      "takes a few hundred requests and needs engines that report their load",
    ),
    prefillFactor: z.number().min(1).max(16).optional().describe(
      "prefix-affinity: a backend takes a request while its queued prefill work (prompt characters) stays within " +
      "prefillFactor x the pool's mean plus one typical request (default 2)",
    ),
    receipts: z.enum(['use', 'ignore']).optional().describe(
      "prefix-affinity: whether each response's cache receipt (the engine's cached-token count) corrects where the " +
      "policy believes prefixes live (default 'use'); 'ignore' for engines whose counts cannot be trusted, or to " +
      'measure what receipts recover',
    ),
    minLoad: z.number().min(0).max(1024).optional().describe(
      'prefix-affinity: below this load (requests) a backend keeps its conversations whatever the bound (default 8)',
    ),
    lookupMinChars: z.number().int().min(0).optional().describe(
      'prefix-affinity: a prompt with at least this many characters past its hot prefix, that this instance would ' +
      'place blind on a view of the shared board older than lookupAfterMs, waits for one board lookup first ' +
      '(default 4096 characters, 1000 ms; the wait is bounded at 50 ms)',
    ),
    lookupAfterMs: z.number().int().min(0).optional().describe(
      "prefix-affinity: age (ms) of this instance's view of the shared board beyond which lookupMinChars applies (default 1000)",
    ),
    homeSpread: z.number().min(0).max(1024).optional().describe(
      "prefix-affinity: a new conversation under a hot prefix goes to the least loaded of the prefix's top " +
      "ceil(homeSpread x share x backends) rendezvous choices (default 12; 0 = any backend)",
    ),
    popularityHalfLife: z.number().int().min(8).optional().describe(
      'prefix-affinity: half-life of the popularity counts, in requests seen by this router instance',
    ),
    cacheThreshold: z.number().min(0).max(1).optional().describe(
      'cache-aware: minimum matched share of the prompt for a cache-directed choice',
    ),
    balanceAbsThreshold: z.number().min(0).optional().describe(
      'cache-aware: the pool counts as imbalanced when max - min in-flight exceeds this and max exceeds min x balanceRelThreshold',
    ),
    balanceRelThreshold: z.number().min(1).optional().describe('cache-aware: see balanceAbsThreshold'),
    seed: z.number().int().optional().describe('random: seed of the generator (for reproducible replays)'),
  })
  .default({});

/**
 * The deployment: whether one router instance carries a pool's whole traffic ('one': a single Node `kvroute serve`)
 * or it is one of 'many' (Workers isolates; Node replicas behind a balancer). The runtime states it (Node: 'one'
 * unless told otherwise or given a popularity exchange; Workers: 'many'); prefix-affinity places by it.
 */
export const routersSchema = z.enum(['one', 'many']);
export type Routers = z.infer<typeof routersSchema>;

export type PolicyOptions = z.infer<typeof policyOptionsSchema>;

export const affinityConfigSchema = z.strictObject({
  enabled: z.boolean().default(true).describe(
    'off: no prefix hashing; policies then see an empty prefix and behave as load balancers',
  ),
  blockChars: z.number().int().min(16).max(65_536).multipleOf(4, 'blockChars must be a multiple of 4').default(DEFAULT_BLOCK_CHARS).describe(
    'characters per hashed block: 512 chars ~ 128 tokens (8 vLLM blocks); a shorter tail is ignored',
  ),
  maxBlocks: z.number().int().min(1).max(4096).default(128).describe(
    'hash at most this many leading blocks (128 x 512 = 64k chars ~ 16k tokens), bounding the per-request cost',
  ),
  policy: z.enum(affinityPolicyNames).default('prefix-affinity').describe('the policy that picks the backend (docs/routing.md)'),
  options: policyOptionsSchema.describe("the policy's tuning; each option names the policies it applies to"),
});

export type AffinityConfig = z.infer<typeof affinityConfigSchema>;
export type AffinityPolicyName = (typeof affinityPolicyNames)[number];
