// kvroute as a library: the app and its runtime bindings, the config schema, routing policies and prefix
// hashing, and the drift sketches and PSI functions.
export { createApp } from './app.ts';
export type { Platform } from './platform.ts';
export { startNodeRouter, type NodeRouter, type NodeRouterOptions } from './node.ts';

export { tenantConfigSchema, parseTenantConfig, formatIssues, type TenantConfig, type TenantConfigInput } from './config/schema.ts';
export { affinityConfigSchema, type AffinityConfig } from './config/affinity.ts';
export { experimentSchema, experimentsConfigSchema, type Experiment } from './config/experiments.ts';
export { driftConfigSchema } from './config/drift.ts';

export type { RoutingPolicy, RoutingInput, Candidate, Selection, BackendLoad } from './routing/policy.ts';
export { createPolicy, policyNames } from './routing/policies/index.ts';
export { prefixHashes, canonicalPrefix, chainSeed } from './routing/prefix-hash.ts';
export { assignArm, stickyKeyOf, shouldShadow } from './routing/experiments.ts';

export { MemoryTenantStore, type TenantStore, type TenantRecord, type ApiKeyRecord } from './tenants/store.ts';
export { FileTenantStore } from './tenants/file-store.ts';

export { analyticsEventSchema, type AnalyticsEvent } from './analytics/event.ts';

export * from './drift/index.ts';
