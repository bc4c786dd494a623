// The tenant config: one zod schema, the single source of truth for what a tenant can configure.
// Validated once when written (admin API, config file); the hot path works on the compiled form (compile.ts).
import { z } from 'zod';
import { affinityConfigSchema } from './affinity.ts';
import { corsConfigSchema } from './cors.ts';
import { driftConfigSchema } from './drift.ts';
import { checkExperimentRefs, experimentsConfigSchema } from './experiments.ts';

const slug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-"');

export const engineKinds = ['vllm', 'sglang', 'tgi', 'openai-compatible'] as const;

export const backendSchema = z.strictObject({
  id: slug.describe('stable backend id; hash-based routing ranks on it'),
  url: z.url({ protocol: /^https?$/, error: 'Invalid URL' }).describe('base URL, e.g. http://10.0.0.5:8000'),
  engine: z.enum(engineKinds).default('vllm'),
  weight: z.number().positive().default(1),
  maxConcurrency: z.number().int().min(0).default(0).describe('0 = unlimited'),
  apiKey: z.string().optional().describe('sent upstream as Authorization: Bearer'),
});

export const poolSchema = z.strictObject({
  backends: z.array(backendSchema).min(1, 'a pool needs at least one backend'),
  /** Overrides the tenant's affinity settings (hashing and policy) for this pool. */
  affinity: affinityConfigSchema.optional(),
});

export const modelRouteSchema = z.strictObject({
  pool: slug,
  model: z.string().min(1).optional().describe('model name sent to the backends (default: the public name)'),
});

export const timeoutsSchema = z.strictObject({
  connectMs: z.number().int().positive().default(2_000),
  /** Time to the first byte of the upstream response body (first token when streaming). */
  firstByteMs: z.number().int().positive().default(60_000),
  /** Longest wait for the next chunk of a stream from the backend. */
  idleMs: z.number().int().positive().default(30_000),
  /** Time the client has to send its whole request body (a slow upload must not hold a connection for minutes). */
  requestBodyMs: z.number().int().positive().default(30_000),
});

export const retrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** All attempts together must start within this budget. */
  deadlineMs: z.number().int().positive().default(30_000),
  retryOnStatus: z.array(z.number().int().min(400).max(599)).default([429, 500, 502, 503, 504]),
  /** A 429's Retry-After is honoured up to this wait; longer waits go to another backend at once. */
  maxRetryAfterMs: z.number().int().min(0).default(2_000),
});

export const healthSchema = z.strictObject({
  failureThreshold: z.number().int().min(1).default(3),
  /** First ejection of a failing backend; each consecutive ejection doubles it, up to maxCooldownMs. */
  cooldownMs: z.number().int().positive().default(5_000),
  maxCooldownMs: z.number().int().positive().default(60_000),
  probeIntervalMs: z.number().int().min(0).default(5_000).describe('0 disables active probes'),
});

export const tenantConfigSchema = z
  .strictObject({
    models: z.record(z.string().min(1), modelRouteSchema),
    pools: z.record(slug, poolSchema),
    affinity: affinityConfigSchema.default(() => affinityConfigSchema.parse({})),
    /** A/B experiments (arms, shadow): see src/config/experiments.ts. */
    experiments: experimentsConfigSchema,
    /** Drift sketching and alerting: see src/config/drift.ts. */
    drift: driftConfigSchema.default(() => driftConfigSchema.parse({})),
    timeouts: timeoutsSchema.default(() => timeoutsSchema.parse({})),
    retry: retrySchema.default(() => retrySchema.parse({})),
    health: healthSchema.default(() => healthSchema.parse({})),
    limits: z
      .strictObject({ maxBodyBytes: z.number().int().positive().max(64 * 1024 * 1024).default(4 * 1024 * 1024) })
      .default({ maxBodyBytes: 4 * 1024 * 1024 }),
    stream: z
      .strictObject({ keepaliveMs: z.number().int().min(0).default(0).describe('SSE comment interval while waiting for the first token; 0 = off') })
      .default({ keepaliveMs: 0 }),
    /** Browser origins allowed to call /v1/* with this tenant's keys: see src/config/cors.ts. */
    cors: corsConfigSchema.default(() => corsConfigSchema.parse({})),
  })
  .superRefine((cfg, ctx) => {
    for (const [name, route] of Object.entries(cfg.models)) {
      if (!cfg.pools[route.pool]) {
        ctx.addIssue({ code: 'custom', path: ['models', name, 'pool'], message: `unknown pool '${route.pool}'` });
      }
    }
    checkExperimentRefs(cfg.experiments, Object.keys(cfg.pools), ctx);
    for (const [poolName, pool] of Object.entries(cfg.pools)) {
      const seen = new Set<string>();
      pool.backends.forEach((b, i) => {
        if (seen.has(b.id)) ctx.addIssue({ code: 'custom', path: ['pools', poolName, 'backends', i, 'id'], message: `duplicate backend id '${b.id}'` });
        seen.add(b.id);
      });
    }
  });

export type TenantConfig = z.infer<typeof tenantConfigSchema>;
export type TenantConfigInput = z.input<typeof tenantConfigSchema>;
export type BackendConfig = z.infer<typeof backendSchema>;
export type PoolConfig = z.infer<typeof poolSchema>;

/** Formats a zod path as `pools.gpu-a.backends[2].url`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** One line per problem, each pointing at its path: `pools.gpu-a.backends[2].url: Invalid URL`. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${formatPath(i.path) || '(root)'}: ${i.message}`);
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

export function parseTenantConfig(input: unknown): ParseResult<TenantConfig> {
  const r = tenantConfigSchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, problems: formatIssues(r.error) };
}
