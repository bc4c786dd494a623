// Prefix-affinity settings of a tenant or a pool: how requests are hashed and which policy picks the backend.
// Validated once when a config is written; the router then uses the parsed value as is.
import { z } from 'zod';
import { type PolicyName, policyOptionsSchemas } from './policy-options.ts';

/** Characters per hashed block when the config leaves `blockChars` out (and when a RoutingInput does not say). */
export const DEFAULT_BLOCK_CHARS = 512;

export const affinityPolicyNames = Object.keys(policyOptionsSchemas) as PolicyName[];
export const DEFAULT_POLICY = 'prefix-affinity' satisfies PolicyName;

/**
 * Any policy's options in one object, for tools that run several policies with one set of options (bin/, bench/);
 * `createPolicy` hands each policy only its own. A config names one policy and accepts only its options.
 */
export const policyOptionsSchema = z.strictObject(
  Object.assign({}, ...Object.values(policyOptionsSchemas).map((s) => s.shape)) as UnionToIntersection<
    (typeof policyOptionsSchemas)[PolicyName]['shape']
  >,
);
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/**
 * The deployment: whether one router instance carries a pool's whole traffic ('one': a single Node `kvroute serve`)
 * or it is one of 'many' (Workers isolates; Node replicas behind a balancer). The runtime states it (Node: 'one'
 * unless told otherwise or given a popularity exchange; Workers: 'many'); prefix-affinity places by it.
 */
export const routersSchema = z.enum(['one', 'many']);
export type Routers = z.infer<typeof routersSchema>;

export type PolicyOptions = z.infer<typeof policyOptionsSchema>;

// How requests are hashed: the same fields whatever the policy.
const hashingShape = {
  enabled: z.boolean().default(true).describe(
    'off: no prefix hashing; policies then see an empty prefix and behave as load balancers',
  ),
  blockChars: z.number().int().min(16).max(65_536).multipleOf(4, 'blockChars must be a multiple of 4').default(DEFAULT_BLOCK_CHARS).describe(
    'characters per hashed block: 512 chars ~ 128 tokens (8 vLLM blocks); a shorter tail is ignored',
  ),
  maxBlocks: z.number().int().min(1).max(4096).default(128).describe(
    'hash at most this many leading blocks (128 x 512 = 64k chars ~ 16k tokens), bounding the per-request cost',
  ),
};

const POLICY_DOC = 'the policy that picks the backend (docs/routing.md)';
const OPTIONS_DOC = "the policy's tuning: only the options of the chosen policy";

/** The settings with policy `name`: the hashing fields, the name and that policy's options. */
function withPolicy<P extends PolicyName>(name: P): Variant<P> {
  // Leaving `policy` out means the default policy, as before the union.
  const policy = name === DEFAULT_POLICY ? z.literal(name).default(name) : z.literal(name);
  return z.strictObject({
    ...hashingShape,
    policy: policy.describe(POLICY_DOC),
    options: (policyOptionsSchemas[name] as z.ZodObject).default({}).describe(OPTIONS_DOC),
  }) as unknown as Variant<P>;
}

type Variant<P extends PolicyName> = z.ZodObject<
  typeof hashingShape & {
    policy: P extends typeof DEFAULT_POLICY ? z.ZodDefault<z.ZodLiteral<P>> : z.ZodLiteral<P>;
    options: z.ZodDefault<(typeof policyOptionsSchemas)[P]>;
  },
  z.core.$strict
>;
type Variants = { [P in PolicyName]: Variant<P> }[PolicyName];

export const affinityConfigSchema = z.discriminatedUnion(
  'policy',
  affinityPolicyNames.map((name) => withPolicy(name)) as unknown as [Variants, ...Variants[]],
  { error: (iss) => (iss.code === 'invalid_union' ? `unknown policy; the policies are: ${affinityPolicyNames.join(', ')}` : undefined) },
);

export type AffinityConfig = z.infer<typeof affinityConfigSchema>;
export type AffinityPolicyName = PolicyName;
