// The tenant config: one zod schema, the single source of truth for what a tenant can configure.
// Validated once when written (admin API, config file); the hot path works on the compiled form (compile.ts).
import { z } from 'zod';
import { affinityConfigSchema } from './affinity.ts';
import { corsConfigSchema } from './cors.ts';
import { driftConfigSchema } from './drift.ts';
import { allowedHostProblem, egressRefusal, egressUrlSchema, type EgressContext } from './egress.ts';
import { checkExperimentRefs, experimentsConfigSchema } from './experiments.ts';

const slug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-"');

/**
 * A record keyed by names from the config. Its output has no prototype, so a lookup of a name the config lacks
 * ('constructor', 'toString') finds nothing; code that looks names up still uses Object.hasOwn or a Map, because
 * records read back from a store (JSON) are plain objects again.
 */
function configRecord<K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V) {
  return z.record(key, value).transform((r) => Object.assign(Object.create(null) as typeof r, r));
}

export const engineKinds = ['vllm', 'sglang', 'tgi', 'llama-cpp', 'openai-compatible'] as const;
/** The engine assumed for a backend whose config leaves `engine` out (kept for older configs; probes report it). */
export const DEFAULT_ENGINE = 'vllm';

export const backendSchema = z.strictObject({
  id: slug.describe('stable backend id; hash-based routing ranks on it'),
  url: egressUrlSchema.describe('base URL, e.g. http://10.0.0.5:8000; see src/config/egress.ts for the hosts refused'),
  engine: z.enum(engineKinds).optional().describe(`engine kind; left out, '${DEFAULT_ENGINE}' is assumed and the probes report it`),
  weight: z.number().positive().default(1).describe('relative share of traffic for load-balancing policies and hash rankings'),
  maxConcurrency: z.number().int().min(0).default(0).describe('0 = unlimited'),
  apiKey: z.string().optional().describe('sent upstream as Authorization: Bearer; write-only (see secrets.ts)'),
});

export const poolSchema = z.strictObject({
  backends: z.array(backendSchema).min(1, 'a pool needs at least one backend').describe('the servers of this pool'),
  affinity: affinityConfigSchema.optional().describe("overrides the tenant's affinity settings (hashing and policy) for this pool"),
});

export const modelRouteSchema = z.strictObject({
  pool: slug.describe('the pool (a key of `pools`) that serves this model'),
  model: z.string().min(1).optional().describe('model name sent to the backends (default: the public name)'),
});

export const timeoutsSchema = z.strictObject({
  connectMs: z.number().int().positive().default(2_000).describe('time to open a connection to a backend'),
  firstByteMs: z.number().int().positive().default(60_000).describe('time to the first byte of the upstream response body (first token when streaming)'),
  idleMs: z.number().int().positive().default(30_000).describe('longest wait for the next chunk of a stream from the backend'),
  requestBodyMs: z.number().int().positive().default(30_000).describe('time the client has to send its whole request body (a slow upload must not hold a connection for minutes)'),
  clientReadMs: z.number().int().positive().default(60_000).describe('longest a stream waits for the client to take its next chunk before it ends as a client abort'),
});

export const retrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(10).default(3).describe('attempts per request, the first included; retries happen only before the first byte'),
  deadlineMs: z.number().int().positive().default(30_000).describe('all attempts together must start within this budget'),
  retryOnStatus: z.array(z.number().int().min(400).max(599)).default([429, 500, 502, 503, 504]).describe('backend statuses that make the router try another backend'),
  maxRetryAfterMs: z.number().int().min(0).default(2_000).describe("a 429's Retry-After is honoured up to this wait; longer waits go to another backend at once"),
});

export const healthSchema = z.strictObject({
  failureThreshold: z.number().int().min(1).default(3).describe('consecutive failures that eject a backend'),
  cooldownMs: z.number().int().positive().default(5_000).describe('first ejection of a failing backend; each consecutive ejection doubles it, up to maxCooldownMs'),
  maxCooldownMs: z.number().int().positive().default(60_000).describe('longest ejection'),
  probeIntervalMs: z.number().int().min(0).default(5_000).describe('0 disables active probes'),
});

export const networkSchema = z.strictObject({
  allowHosts: z
    .array(
      z.string().superRefine((entry, ctx) => {
        const why = allowedHostProblem(entry);
        if (why) ctx.addIssue({ code: 'custom', message: why });
      }),
    )
    .max(64)
    .default([])
    .describe(
      'hosts (`host` or `host:port`) this tenant\'s backends and alert webhook may use although the deployment would ' +
        'refuse them: loopback addresses outside local development. Link-local and metadata hosts stay refused',
    ),
});

export const tenantConfigSchema = z
  .strictObject({
    models: configRecord(z.string().min(1), modelRouteSchema).describe('public model name (the `model` clients send) -> the pool that serves it'),
    pools: configRecord(slug, poolSchema).describe('named groups of backends that serve the same model'),
    affinity: affinityConfigSchema.default(() => affinityConfigSchema.parse({})).describe('prefix hashing and the routing policy, for every pool that does not override them'),
    experiments: experimentsConfigSchema.describe('A/B experiments (arms, shadow traffic)'),
    drift: driftConfigSchema.default(() => driftConfigSchema.parse({})).describe('drift sketching, PSI reports and alerts'),
    timeouts: timeoutsSchema.default(() => timeoutsSchema.parse({})).describe('time limits on backends and clients, in ms'),
    retry: retrySchema.default(() => retrySchema.parse({})).describe('failover to another backend before the first byte'),
    health: healthSchema.default(() => healthSchema.parse({})).describe('ejection of failing backends and active health probes'),
    limits: z
      .strictObject({ maxBodyBytes: z.number().int().positive().max(64 * 1024 * 1024).default(4 * 1024 * 1024).describe('larger request bodies get a 413') })
      .default({ maxBodyBytes: 4 * 1024 * 1024 })
      .describe('request limits'),
    stream: z
      .strictObject({ keepaliveMs: z.number().int().min(0).default(0).describe('SSE comment interval while waiting for the first token; 0 = off') })
      .default({ keepaliveMs: 0 })
      .describe('streaming to the client'),
    cors: corsConfigSchema.default(() => corsConfigSchema.parse({})).describe("browser origins allowed to call /v1/* with this tenant's keys"),
    network: networkSchema.default(() => networkSchema.parse({})).describe("where this tenant's backends and webhook may live beyond the deployment's egress rules"),
  })
  .superRefine((cfg, ctx) => {
    for (const [name, route] of Object.entries(cfg.models)) {
      if (!Object.hasOwn(cfg.pools, route.pool)) {
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

export interface Problem {
  /** `pools.gpu-a.backends[2].url`, or '' for the whole input. */
  path: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problems: string[]; issues: Problem[] };

/** One line per problem, each pointing at its path: `pools.gpu-a.backends[2].url: Invalid URL`. */
export function formatIssues(error: z.ZodError): string[] {
  return failed(problemsOf(error)).problems;
}

/** zod issues as problems; an unknown key is reported at its own path, so that the field is named. */
function problemsOf(error: z.ZodError): Problem[] {
  return error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      // zod's own message repeats the key; a schema's own message (a policy's options name the policy) is kept.
      ? i.keys.map((k) => ({ path: formatPath([...i.path, k]), message: i.message.startsWith('Unrecognized key') ? 'unknown field; remove it' : i.message }))
      : [{ path: formatPath(i.path), message: i.message }],
  );
}

export function failed(issues: Problem[]): { ok: false; problems: string[]; issues: Problem[] } {
  return { ok: false, issues, problems: issues.map((i) => `${i.path || '(root)'}: ${i.message}`) };
}

/**
 * Own `__proto__` keys in JSON input. zod drops them from records (assigning one would replace the prototype), so
 * a model or pool named `__proto__` would vanish without a word; refuse it instead.
 */
function protoKeys(input: unknown, path: PropertyKey[] = [], out: Problem[] = []): Problem[] {
  if (input === null || typeof input !== 'object') return out;
  if (Array.isArray(input)) {
    input.forEach((v, i) => protoKeys(v, [...path, i], out));
    return out;
  }
  for (const [k, v] of Object.entries(input)) protoKeys(v, [...path, k], out);
  if (Object.hasOwn(input, '__proto__')) out.push({ path: formatPath([...path, '__proto__']), message: "'__proto__' is not allowed as a name" });
  return out;
}

/** Parses config-shaped JSON input with a schema; every problem points at its path. */
export function parseConfigInput<S extends z.ZodType>(schema: S, input: unknown): ParseResult<z.output<S>> {
  const proto = protoKeys(input);
  if (proto.length) return failed(proto);
  const r = schema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : failed(problemsOf(r.error));
}

/**
 * The deployment-dependent egress rules (loopback, the router's own address) over every URL the config makes the
 * router call. The deployment-independent ones are already part of the schema.
 */
export function egressProblems(cfg: TenantConfig, egress: EgressContext): Problem[] {
  const out: Problem[] = [];
  const allow = cfg.network.allowHosts;
  for (const [poolName, pool] of Object.entries(cfg.pools)) {
    pool.backends.forEach((b, i) => {
      const why = egressRefusal(b.url, egress, allow);
      if (why) out.push({ path: formatPath(['pools', poolName, 'backends', i, 'url']), message: why });
    });
  }
  const hook = cfg.drift.alertWebhook;
  const why = hook === undefined ? null : egressRefusal(hook, egress, allow);
  if (why) out.push({ path: 'drift.alertWebhook', message: why });
  return out;
}

/**
 * Validates a tenant config. With `egress` (the deployment: local dev or not, the router's own addresses) the
 * deployment-dependent egress rules are checked too; every boundary that accepts configs from users passes it.
 */
export function parseTenantConfig(input: unknown, egress?: EgressContext): ParseResult<TenantConfig> {
  const r = parseConfigInput(tenantConfigSchema, input);
  if (!r.ok || !egress) return r;
  const problems = egressProblems(r.value, egress);
  return problems.length ? failed(problems) : r;
}
