// Experiments in the tenant config: weighted arms that map one public model name to a pool (and optionally a
// model name inside that pool), plus an optional shadow target. Validated once when the config is written;
// the hot path trusts the parsed value.
import { z } from 'zod';

/** Arm weights are percentages with at most two decimals: assignment uses 10000 buckets (0.01 % each). */
export const ASSIGNMENT_BUCKETS = 10_000;

const identifier = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'use letters, digits, and _ . : - (starting with a letter or digit)');

export const armSchema = z.object({
  name: identifier.describe('arm name, reported in `x-kvroute-arm` and in events'),
  weight: z
    .number()
    .min(0)
    .max(100)
    .refine((w) => Math.abs(w * 100 - Math.round(w * 100)) < 1e-6, 'weight must be a multiple of 0.01 (percent)')
    .describe('percent of sticky keys, 0..100, multiple of 0.01. All arms of an experiment sum to 100'),
  pool: z.string().min(1).describe('pool name from the tenant config'),
  model: z.string().min(1).optional().describe(
    "model name sent to the pool; defaults to the experiment's public model name",
  ),
});

export const shadowSchema = z.object({
  pool: z.string().min(1).describe('pool name from the tenant config that receives the shadow copies'),
  model: z.string().min(1).optional().describe(
    'model name sent to the shadow pool; defaults to the model of the arm that served the primary',
  ),
  sampleRate: z.number().min(0).max(1).default(0.01).describe(
    'fraction of requests (0..1) that also get a shadow leg, sampled by a hash of the request id',
  ),
  maxConcurrent: z.number().int().min(1).max(10_000).default(4).describe(
    'cap on shadow legs in flight per isolate / Node replica; above it the shadow is skipped, never queued',
  ),
  dailyTokenBudget: z.number().int().min(0).default(1_000_000).describe(
    'shadow tokens (prompt + completion) per UTC day per isolate / replica; above it shadows are skipped',
  ),
  noiseFloorRate: z.number().min(0).max(1).default(0).describe(
    'fraction (0..1) of shadowed requests that also get a second primary leg (Diffy noise floor)',
  ),
  timeoutMs: z.number().int().min(100).max(300_000).default(25_000).describe(
    'abort the shadow leg after this long (it runs in waitUntil, which Workers cancel 30 s after the response)',
  ),
});

export const stickyKeySchema = z
  .object({
    header: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid HTTP header name')
      .transform((h) => h.toLowerCase())
      .optional()
      .describe('request header whose value is the sticky key (highest precedence when present); case-insensitive'),
  })
  .default({})
  .describe("what keeps a client on one arm: this header, else the body's `user`, else the API key");

export const experimentSchema = z
  .object({
    name: identifier.describe('experiment name, used in the report URL and in events'),
    salt: z.string().min(1).max(256).optional().describe(
      'hash salt; defaults to the experiment name. Change it to re-randomise every assignment',
    ),
    model: z.string().min(1).describe('public model name (the `model` clients send) that this experiment takes over'),
    enabled: z.boolean().default(true).describe('one enabled experiment per public model name'),
    stickyKey: stickyKeySchema,
    arms: z.array(armSchema).min(1).max(32).describe('the arms, in bucket order (ramp adjacent arms against each other)'),
    shadow: shadowSchema.optional().describe('a sampled copy of requests sent to a candidate, compared off the request path'),
  })
  .superRefine((exp, ctx) => {
    const seen = new Set<string>();
    exp.arms.forEach((arm, i) => {
      if (seen.has(arm.name)) {
        ctx.addIssue({ code: 'custom', path: ['arms', i, 'name'], message: `duplicate arm name '${arm.name}'` });
      }
      seen.add(arm.name);
    });
    const bucketsTotal = exp.arms.reduce((s, a) => s + Math.round(a.weight * 100), 0);
    if (bucketsTotal !== ASSIGNMENT_BUCKETS) {
      ctx.addIssue({
        code: 'custom',
        path: ['arms'],
        message: `arm weights must sum to 100, got ${bucketsTotal / 100} (${exp.arms.map((a) => `${a.name}=${a.weight}`).join(', ')})`,
      });
    }
  })
  .transform((exp) => ({ ...exp, salt: exp.salt ?? exp.name }));

export const experimentsConfigSchema = z.array(experimentSchema).default([]).superRefine((list, ctx) => {
  const names = new Map<string, number>();
  const models = new Map<string, number>();
  list.forEach((exp, i) => {
    const dupName = names.get(exp.name);
    if (dupName !== undefined) {
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate experiment name '${exp.name}' (also at [${dupName}])` });
    } else names.set(exp.name, i);
    if (!exp.enabled) return;
    const dupModel = models.get(exp.model);
    if (dupModel !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'model'],
        message: `model '${exp.model}' already has an enabled experiment at [${dupModel}]; a request can be in only one`,
      });
    } else models.set(exp.model, i);
  });
});

export type ExperimentInput = z.input<typeof experimentSchema>;
export type Experiment = z.output<typeof experimentSchema>;
export type Arm = z.output<typeof armSchema>;
export type ShadowConfig = z.output<typeof shadowSchema>;

/**
 * Checks that every pool an experiment references exists. Call it from the tenant schema's superRefine:
 *   tenantSchema.superRefine((t, ctx) => checkExperimentRefs(t.experiments, Object.keys(t.pools), ctx, ['experiments']))
 * Issues carry the full path, e.g. experiments[0].arms[1].pool.
 */
export function checkExperimentRefs(
  experiments: readonly Experiment[],
  poolNames: Iterable<string>,
  ctx: z.RefinementCtx,
  basePath: (string | number)[] = ['experiments'],
): void {
  const pools = new Set(poolNames);
  const known = () => (pools.size ? [...pools].join(', ') : 'none defined');
  experiments.forEach((exp, i) => {
    exp.arms.forEach((arm, j) => {
      if (!pools.has(arm.pool)) {
        ctx.addIssue({ code: 'custom', path: [...basePath, i, 'arms', j, 'pool'], message: `unknown pool '${arm.pool}' (pools: ${known()})` });
      }
    });
    if (exp.shadow && !pools.has(exp.shadow.pool)) {
      ctx.addIssue({ code: 'custom', path: [...basePath, i, 'shadow', 'pool'], message: `unknown pool '${exp.shadow.pool}' (pools: ${known()})` });
    }
  });
}

/** The enabled experiment that owns a public model name, if any (build once per config: O(1) per request). */
export function experimentIndex(experiments: readonly Experiment[]): ReadonlyMap<string, Experiment> {
  const byModel = new Map<string, Experiment>();
  for (const exp of experiments) if (exp.enabled) byModel.set(exp.model, exp);
  return byModel;
}
