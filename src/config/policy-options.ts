// Each routing policy's options: one schema per policy holding exactly the options that policy reads, so that a
// config naming another policy's option is refused rather than silently ignored. Options read by several policies
// are declared once in `sharedOptionsSchema` and picked from there.
import { z } from 'zod';

/** Options read by more than one policy; each policy picks the ones it reads. */
export const sharedOptionsSchema = z.object({
  loadFactor: z.number().min(1).max(16).optional().describe(
    "a backend takes a key only while its load <= loadFactor x the pool's mean (default: 4 for prefix-affinity, " +
    '1.25 for consistent-hash; rendezvous is unbounded unless it is set)',
  ),
  staleLoadMs: z.number().int().min(0).optional().describe(
    "engine-reported load older than this (ms) is ignored in favour of the router's own in-flight count (default 5000)",
  ),
  keyBlocks: z.number().int().min(1).max(1024).optional().describe(
    'the key is the hash of this many leading blocks (fewer if the prompt is short; default 8)',
  ),
  indexBlocksPerBackend: z.number().int().min(0).optional().describe(
    "capacity of the instance's own routing index, per backend in blocks (default 4096; 0 = none)",
  ),
});

/**
 * A policy's options object: an unknown key is refused with a message naming the policy and its options (zod's own
 * "unknown field" would not say that the option may belong to another policy).
 */
function policyOptions<S extends z.ZodRawShape>(policy: string, shape: S) {
  const known = Object.keys(shape);
  const message = `not an option of policy ${policy}; its options are: ${known.length ? known.join(', ') : '(none)'}`;
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? message : undefined) });
}

type SharedShape = typeof sharedOptionsSchema.shape;

/** The shared options a policy reads, as the same schemas (one description and bound for every policy). */
function pick<K extends keyof SharedShape>(...keys: K[]): Pick<SharedShape, K> {
  return Object.fromEntries(keys.map((k) => [k, sharedOptionsSchema.shape[k]])) as Pick<SharedShape, K>;
}

export const prefixAffinityOptionsSchema = policyOptions('prefix-affinity', {
  ...pick('loadFactor', 'staleLoadMs', 'indexBlocksPerBackend'),
  newLoadFactor: z.number().min(1).max(16).optional().describe(
    'the bounded-load factor for a request that starts a new conversation (default 1.5)',
  ),
  trendMs: z.number().int().min(0).optional().describe(
    'time constant (ms) of the engine-load trend shedding; 0 (default) turns it off',
  ),
  trendFactor: z.number().min(1).optional().describe(
    'a backend takes new keys only while its load trend is <= trendFactor x the mean',
  ),
  hotShare: z.number().gt(0).max(8).optional().describe(
    'a prefix carried by more than hotShare / backends of recent requests is hot and is spread',
  ),
  alone: z.enum(['auto', 'yes', 'no']).optional().describe(
    "whether this router instance serves the pool alone, overriding the deployment's `routers` " +
    "(default: 'yes' where it is 'one', 'no' where it is 'many'). 'auto' tells from engine reports instead, which " +
    'takes a few hundred requests and needs engines that report their load',
  ),
  prefillFactor: z.number().min(1).max(16).optional().describe(
    "a backend takes a request while its queued prefill work (prompt characters) stays within " +
    "prefillFactor x the pool's mean plus one typical request (default 2)",
  ),
  receipts: z.enum(['use', 'ignore']).optional().describe(
    "whether each response's cache receipt (the engine's cached-token count) corrects where the " +
    "policy believes prefixes live (default 'use'); 'ignore' for engines whose counts cannot be trusted, or to " +
    'measure what receipts recover',
  ),
  minLoad: z.number().min(0).max(1024).optional().describe(
    'below this load (requests) a backend keeps its conversations whatever the bound (default 8)',
  ),
  lookupMinChars: z.number().int().min(0).optional().describe(
    'a prompt with at least this many characters past its hot prefix, that this instance would ' +
    'place blind on a view of the shared board older than lookupAfterMs, waits for one board lookup first ' +
    '(default 4096 characters, 1000 ms; the wait is bounded at 50 ms)',
  ),
  lookupAfterMs: z.number().int().min(0).optional().describe(
    "age (ms) of this instance's view of the shared board beyond which lookupMinChars applies (default 1000)",
  ),
  homeSpread: z.number().min(0).max(1024).optional().describe(
    "a new conversation under a hot prefix goes to the least loaded of the prefix's top " +
    'ceil(homeSpread x share x backends) rendezvous choices (default 12; 0 = any backend)',
  ),
  popularityHalfLife: z.number().int().min(8).optional().describe(
    'half-life of the popularity counts, in requests seen by this router instance',
  ),
});

export const randomOptionsSchema = policyOptions('random', {
  seed: z.number().int().optional().describe('seed of the generator (for reproducible replays)'),
});

export const roundRobinOptionsSchema = policyOptions('round-robin', {});

export const leastLoadedOptionsSchema = policyOptions('least-loaded', {});

export const rendezvousOptionsSchema = policyOptions('rendezvous', pick('loadFactor', 'staleLoadMs', 'keyBlocks'));

export const consistentHashOptionsSchema = policyOptions('consistent-hash', {
  ...pick('loadFactor', 'staleLoadMs', 'keyBlocks'),
  virtualNodes: z.number().int().min(1).max(1024).optional().describe('virtual nodes per unit of weight (default 160)'),
});

export const cacheAwareOptionsSchema = policyOptions('cache-aware', {
  cacheThreshold: z.number().min(0).max(1).optional().describe(
    'minimum matched share of the prompt for a cache-directed choice (default 0.3)',
  ),
  balanceAbsThreshold: z.number().min(0).optional().describe(
    'the pool counts as imbalanced when max - min in-flight exceeds this and max exceeds min x balanceRelThreshold (default 64)',
  ),
  balanceRelThreshold: z.number().min(1).optional().describe('see balanceAbsThreshold (default 1.5)'),
  ...pick('indexBlocksPerBackend'),
});

/** Each policy's options schema, by policy name (the order is the order of docs and error messages). */
export const policyOptionsSchemas = {
  'prefix-affinity': prefixAffinityOptionsSchema,
  random: randomOptionsSchema,
  'round-robin': roundRobinOptionsSchema,
  'least-loaded': leastLoadedOptionsSchema,
  'consistent-hash': consistentHashOptionsSchema,
  rendezvous: rendezvousOptionsSchema,
  'cache-aware': cacheAwareOptionsSchema,
} as const;

export type PolicyName = keyof typeof policyOptionsSchemas;
/** The parsed options of one policy. */
export type PolicyOptionsOf<P extends PolicyName> = z.output<(typeof policyOptionsSchemas)[P]>;

/**
 * The options of a bag of any policies' options that `policy` reads, parsed by its schema (tools run several
 * policies with one bag; a config names one policy and gets the others' options refused).
 */
export function ownOptions<P extends PolicyName>(policy: P, bag: Record<string, unknown>): PolicyOptionsOf<P> {
  const schema = policyOptionsSchemas[policy];
  return schema.parse(Object.fromEntries(Object.entries(bag).filter(([k]) => Object.hasOwn(schema.shape, k)))) as PolicyOptionsOf<P>;
}
