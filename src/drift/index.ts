// Public API of the drift subsystem (re-exported from routes/index.ts, the library entry; the drift Durable Object and
// its client are in src/workers/: drift-durable-object.ts, drift-object-core.ts, durable-drift-store.ts).
export { LogHist, DEFAULT_ALPHA, ZERO_KEY } from './loghist.ts';
export { CatCounts, DEFAULT_CATEGORY_CAPACITY, type CatCountsJSON } from './categorical.ts';
export { NgramHist, DEFAULT_NGRAM_BUCKETS, DEFAULT_NGRAM_MAX_CHARS } from './ngram.ts';
export { psi, psiTerms, smoothedShares, jsDivergence, lInfinity, classify, MINOR_BAND, MAJOR_BAND, FLOOR_EPSILON, type PsiOptions, type PsiResult, type DriftStatus } from './psi.ts';
export { chi2Cdf, chi2Quantile } from './chi2.ts';
export { FEATURES, SMOOTHINGS, type FeatureName, type Smoothing } from '../config/drift-vocabulary.ts';
export { extractFeatures, scriptClass, type FeatureVector, type ResponseObservation } from './features.ts';
export { FeatureSketches, type FeatureSketchesJSON } from './sketches.ts';
export { quantileCutKeys, binCounts, categoryBins, categoryCounts, OTHER_BIN, type BaselineSpec, type BaselineMeta } from './baseline.ts';
export { evaluateFeature, evaluateSketches, criticalPsi, worstStatus, type FeatureDrift, type EvaluationSettings } from './report.ts';
export { DriftAccumulator, type DriftDelta, type DeltaEntry } from './aggregate.ts';
export { applyEvaluation, emptyAlertState, type DriftAlert, type DriftStatusRow, type AlertState } from './alerts.ts';
export { TenantLedger, type KeyValueRepository } from './ledger.ts';
export type { DriftReport, GroupReport, DriftReportOptions, BaselineRequest, IngestResult } from './wire.ts';
export { MemoryDriftStore, MapRepository, type DriftStore } from './store.ts';
export { createDriftRecorder, type DriftRecorder, type DriftRecorderDeps, type DriftObservation } from './recorder.ts';
export { observationFromRecord, driftObservationOf, usageAndFinish, type RequestRecordLike } from './from-record.ts';
