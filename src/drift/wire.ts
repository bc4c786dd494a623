// The drift data that crosses a boundary as JSON, as zod schemas: what an isolate sends a tenant's drift store
// (a Durable Object on Workers), what the store answers, and what the ledger reads back from storage. Each schema
// is checked against its TypeScript type, so the two cannot drift apart.
import { z } from 'zod';
import { driftConfigSchema } from '../config/drift.ts';
import type { DeltaEntry, DriftDelta } from './aggregate.ts';
import type { AlertState, DriftAlert, DriftStatusRow } from './alerts.ts';
import type { BaselineMeta, BaselineSpec, StoredBaseline } from './baseline.ts';
import type { CatCountsJSON } from './categorical.ts';
import { FEATURES, SMOOTHINGS, type FeatureKind, type FeatureName } from '../config/drift-vocabulary.ts';
import type { DriftStatus } from './psi.ts';
import type { EvaluationSettings, FeatureDrift } from './report.ts';
import type { FeatureSketchesJSON } from './sketches.ts';
import type { WindowRef } from './window.ts';

// ---- the store's API types (TenantLedger implements them, DriftStore carries them) ----------------------------------

export interface IngestResult {
  alerts: DriftAlert[];
  statuses: DriftStatusRow[];
}

export interface DriftReportOptions {
  model?: string;
  arm?: string;
  /** Window name (default the finest). */
  window?: string;
  /** Evaluate the window containing this time (epoch ms) instead of each group's latest window. */
  at?: number;
}

export interface GroupReport {
  model: string;
  arm: string;
  window: { name: string; start: number; end: number; partial: boolean };
  baseline: { version: number | 'trailing'; from: number; to: number; requests: number };
  requests: number;
  status: DriftStatus;
  features: FeatureDrift[];
}

export interface DriftReport {
  tenantId: string;
  generatedAt: number;
  window: string;
  settings: Pick<EvaluationSettings, 'bins' | 'minCount' | 'alpha' | 'smoothing' | 'categoryMinShare'>;
  baseline: BaselineMeta | { version: 'trailing'; spec: BaselineSpec };
  groups: GroupReport[];
}

export type BaselineRequest =
  | { from: number; to: number; label?: string }
  | { trailingDays: number; label?: string }
  /** Re-activates an earlier version as a new version (versions are immutable, the history stays linear). */
  | { restore: number; label?: string };

export interface BaselineListing {
  active: BaselineMeta | null;
  versions: BaselineMeta[];
}

const count = z.number().nonnegative();
const time = z.number();
const statusSchema: z.ZodType<DriftStatus> = z.enum(['insufficient_data', 'none', 'minor', 'major']);
const baselineVersion = z.union([z.number().int(), z.literal('trailing')]);

// ---- sketches ----------------------------------------------------------------------------------------------------

const catCountsSchema: z.ZodType<CatCountsJSON> = z.object({ counts: z.record(z.string(), count), other: count, capacity: z.number().int().positive() });

export const featureSketchesSchema: z.ZodType<FeatureSketchesJSON> = z.object({
  requests: count,
  numeric: z.record(z.string(), z.string()),
  categorical: z.record(z.string(), catCountsSchema),
  ngram: z.string().optional(),
});

// ---- what an isolate sends -------------------------------------------------------------------------------------

const deltaEntrySchema: z.ZodType<DeltaEntry> = z.object({ model: z.string(), arm: z.string(), start: time, sketches: featureSketchesSchema });

export const driftDeltaSchema: z.ZodType<DriftDelta> = z.object({ config: driftConfigSchema, entries: z.array(deltaEntrySchema) });

export const driftReportOptionsSchema: z.ZodType<DriftReportOptions> = z.object({
  model: z.string().optional(),
  arm: z.string().optional(),
  window: z.string().optional(),
  at: time.optional(),
});

export const baselineRequestSchema: z.ZodType<BaselineRequest> = z.union([
  z.object({ from: time, to: time, label: z.string().optional() }),
  z.object({ trailingDays: z.number().int().positive(), label: z.string().optional() }),
  z.object({ restore: z.number().int().positive(), label: z.string().optional() }),
]);

// ---- what the store answers and keeps ------------------------------------------------------------------------------

const alertSchema: z.ZodType<DriftAlert> = z.object({
  tenantId: z.string(), model: z.string(), arm: z.string(), feature: z.string(), window: z.string(), windowStart: time,
  psi: z.number(), crit: z.number().nullable(), n: count, m: count, baselineVersion, at: time,
});

const statusRowSchema: z.ZodType<DriftStatusRow> = z.object({
  tenantId: z.string(), model: z.string(), arm: z.string(), feature: z.string(), window: z.string(), windowStart: time,
  status: statusSchema, previous: statusSchema.nullable(), psi: z.number(), js: z.number(), crit: z.number().nullable(),
  n: count, m: count, baselineVersion, at: time,
});

export const ingestResultSchema: z.ZodType<IngestResult> = z.object({ alerts: z.array(alertSchema), statuses: z.array(statusRowSchema) });

const baselineSpecSchema: z.ZodType<BaselineSpec> = z.union([
  z.object({ kind: z.literal('frozen'), from: time, to: time, label: z.string().optional() }),
  z.object({ kind: z.literal('trailing'), days: z.number().int().positive(), label: z.string().optional() }),
]);

const baselineMetaShape = z.object({
  version: z.number().int().positive(),
  createdAt: time,
  spec: baselineSpecSchema,
  groups: z.array(z.object({ model: z.string(), arm: z.string(), requests: count })),
});
export const baselineMetaSchema: z.ZodType<BaselineMeta> = baselineMetaShape;
export const storedBaselineSchema: z.ZodType<StoredBaseline> = baselineMetaShape.extend({ sketches: z.record(z.string(), featureSketchesSchema) });
export const baselineListingSchema: z.ZodType<BaselineListing> = z.object({ active: baselineMetaSchema.nullable(), versions: z.array(baselineMetaSchema) });

const featureNames = FEATURES.map((f) => f.name) as [FeatureName, ...FeatureName[]];
const featureDriftSchema: z.ZodType<FeatureDrift> = z.object({
  feature: z.enum(featureNames),
  kind: z.enum(['numeric', 'categorical', 'ngram'] satisfies FeatureKind[]),
  status: statusSchema,
  psi: z.number(),
  js: z.number(),
  linf: z.number().optional(),
  n: count,
  m: count,
  bins: count,
  crit: z.number().nullable(),
  outOfRangeRate: z.number(),
  contributions: z.array(z.object({ bin: z.string(), expected: z.number(), actual: z.number(), term: z.number() })),
  smoothing: z.enum(SMOOTHINGS),
});

const groupReportSchema: z.ZodType<GroupReport> = z.object({
  model: z.string(),
  arm: z.string(),
  window: z.object({ name: z.string(), start: time, end: time, partial: z.boolean() }),
  baseline: z.object({ version: baselineVersion, from: time, to: time, requests: count }),
  requests: count,
  status: statusSchema,
  features: z.array(featureDriftSchema),
});

export const driftReportSchema: z.ZodType<DriftReport> = z.object({
  tenantId: z.string(),
  generatedAt: time,
  window: z.string(),
  settings: z.object({ bins: z.number().int(), minCount: z.number().int(), alpha: z.number(), smoothing: z.enum(SMOOTHINGS), categoryMinShare: z.number() }),
  baseline: z.union([baselineMetaSchema, z.object({ version: z.literal('trailing'), spec: baselineSpecSchema })]),
  groups: z.array(groupReportSchema),
});

export const windowIndexSchema: z.ZodType<WindowRef[]> = z.array(z.object({ window: z.string(), start: time, model: z.string(), arm: z.string() }));

export const alertStateSchema: z.ZodType<AlertState> = z.object({ definitive: z.record(z.string(), statusSchema), reported: z.record(z.string(), statusSchema) });
