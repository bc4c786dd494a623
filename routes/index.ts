// kvroute as a library (package.json `main`): the app and the Node router, the config schema, routing policies and
// prefix hashing, and the drift sketches and PSI functions. An entry point like routes/worker.ts and routes/node.ts:
// it may import the app; src/ never imports it.
export { createApp } from './app.ts';
export type { Platform } from '../src/runtimes/platform.ts';
export { startNodeRouter, type NodeRouter, type NodeRouterOptions } from './node.ts';

export { tenantConfigSchema, parseTenantConfig, formatIssues, type TenantConfig, type TenantConfigInput } from '../src/config/schema.ts';
export { affinityConfigSchema, type AffinityConfig } from '../src/config/affinity.ts';
export { experimentSchema, experimentsConfigSchema, type Experiment } from '../src/config/experiments.ts';
export { driftConfigSchema } from '../src/config/drift.ts';

export type { RoutingPolicy, RoutingInput, Candidate, Selection, BackendLoad } from '../src/routing/policies/policy.ts';
export { createPolicy, policyNames } from '../src/routing/policies/index.ts';
export { prefixHashes, canonicalPrefix, chainSeed } from '../src/routing/prefix-hash.ts';
export { assignArm, stickyKeyOf, shouldShadow } from '../src/experiments/assignment.ts';

export { MemoryTenantStore, type TenantStore, type TenantRecord, type ApiKeyRecord } from '../src/tenants/store.ts';
export { FileTenantStore } from '../src/tenants/file-store.ts';

export { analyticsEventSchema, type AnalyticsEvent } from '../src/analytics/event.ts';

export * from '../src/drift/index.ts';
export { DurableDriftStore, type DriftRpc } from '../src/workers/durable-drift-store.ts';
export { DriftObjectCore, type DurableObjectStorageLike } from '../src/workers/drift-object-core.ts';
