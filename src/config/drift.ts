// Tenant config field `drift`: request-level drift sketching (see src/drift/). Validated when the tenant config is
// written; the hot path only reads the parsed value.
import { z } from 'zod';
import { egressUrlSchema } from './egress.ts';
import { FEATURES, SMOOTHINGS, type FeatureName, type Smoothing } from './drift-vocabulary.ts';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses '5m', '1h', '7d', '30s', '250ms' (or a number of ms) into milliseconds. */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(v);
  if (!m) throw new Error(`'${v}' is not a duration like 5m, 1h or 7d`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export const durationSchema = z
  .union([z.number().int().positive(), z.string().regex(/^\d+(ms|s|m|h|d)$/, 'use a duration like 5m, 1h or 7d')])
  .transform(parseDuration)
  .refine((ms) => ms > 0, 'duration must be positive');

export const driftWindowSchema = z.object({
  name: z.string().regex(/^[a-z0-9_-]{1,16}$/, 'window name: 1-16 of a-z 0-9 _ -').describe(
    'name used in the API (`?window=5m`)',
  ),
  size: durationSchema.describe('window length: a number of ms or a duration such as 5m, 1h, 7d'),
  retention: durationSchema.describe('how long windows of this size are kept'),
});

const featureNames = FEATURES.map((f) => f.name) as [FeatureName, ...FeatureName[]];

export const driftConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('sketch request features and report drift for this tenant'),
    windows: z
      .array(driftWindowSchema)
      .min(1)
      .default([
        { name: '5m', size: 300_000, retention: 86_400_000 },
        { name: '1h', size: 3_600_000, retention: 30 * 86_400_000 },
      ])
      .describe('finest first; every size must be a multiple of the finest one (isolates only record the finest)'),
    trailingDays: z.number().int().min(1).max(365).default(7).describe(
      'baseline used until one is PUT: the trailing N days before the current window',
    ),
    bins: z.number().int().min(2).max(100).default(10).describe(
      'PSI bins for numeric features (cut at baseline quantiles)',
    ),
    minCount: z.number().int().min(1).default(200).describe(
      'below this many observations in the current window or the baseline, status is insufficient_data',
    ),
    alpha: z.number().gt(0).lt(0.5).default(0.01).describe(
      'chance of a false alarm per feature and window that the chi-square guard allows',
    ),
    smoothing: z.enum(SMOOTHINGS.filter((s) => s !== 'none') as [Exclude<Smoothing, 'none'>, ...Exclude<Smoothing, 'none'>[]]).default('half').describe(
      "how empty bins are smoothed ('none' is not offered: an empty bin would make PSI infinite)",
    ),
    categoryMinShare: z.number().min(0).max(0.5).default(0.005).describe(
      'baseline categories below this share are folded into OTHER',
    ),
    alertWebhook: egressUrlSchema.optional().describe(
      'POSTed once per transition of a feature into major drift. Subject to the egress rules (egress.ts)',
    ),
    alertWindow: z.string().optional().describe('window whose status drives alerts; default the finest'),
    features: z.partialRecord(z.enum(featureNames), z.boolean()).default({}).describe(
      'features switched off are neither sketched nor reported (all on by default)',
    ),
    sampling: z.number().min(0).max(1).default(1).describe('share of requests sketched (decided by an id the router draws per request, not by the x-request-id a client sends)'),
    flushInterval: durationSchema.default(10_000).describe('how often an isolate flushes its sketches to the store'),
  })
  .superRefine((cfg, ctx) => {
    const finest = finestWindow(cfg).size;
    const names = new Set<string>();
    cfg.windows.forEach((w, i) => {
      if (names.has(w.name)) ctx.addIssue({ code: 'custom', path: ['windows', i, 'name'], message: `duplicate window name '${w.name}'` });
      names.add(w.name);
      if (w.size % finest !== 0) ctx.addIssue({ code: 'custom', path: ['windows', i, 'size'], message: `window size must be a multiple of the first (finest) window, ${finest} ms` });
      if (w.retention < w.size) ctx.addIssue({ code: 'custom', path: ['windows', i, 'retention'], message: 'retention must be at least one window' });
    });
    if (cfg.alertWindow !== undefined && !names.has(cfg.alertWindow)) {
      ctx.addIssue({ code: 'custom', path: ['alertWindow'], message: `alertWindow must name one of the windows: ${[...names].join(', ')}` });
    }
  });

export type DriftConfig = z.output<typeof driftConfigSchema>;
export type DriftConfigInput = z.input<typeof driftConfigSchema>;
export type DriftWindow = DriftConfig['windows'][number];

/** The first (finest) window; the schema requires at least one. */
export function finestWindow(cfg: Pick<DriftConfig, 'windows'>): DriftWindow {
  return cfg.windows[0]!;
}

/** The defaults, for tenants without a `drift` field. */
export const defaultDriftConfig: DriftConfig = driftConfigSchema.parse({});

export function featureEnabled(cfg: DriftConfig, name: FeatureName): boolean {
  return cfg.features[name] !== false;
}
