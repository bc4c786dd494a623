// Turns a validated TenantConfig into the structures the hot path uses: resolved model routes, pools with their
// policy instances, backend origins. Compiled once per (tenant, version) per isolate; never on each request.
import { DEFAULT_ENGINE, type TenantConfig } from '../config/schema.ts';
import type { RoutingPolicy } from '../routing/policies/policy.ts';
import type { AffinityConfig } from '../config/affinity.ts';
import type { Experiment } from '../config/experiments.ts';
import { adapterFor, type EngineAdapter, type EngineKind } from '../../gpu-backends/adapters/index.ts';

export interface RuntimeBackend {
  id: string;
  url: string;
  /** The configured engine kind, or the default when the config leaves it out. */
  engine: EngineKind;
  /** How to read this engine's health, load metrics and piggy-backed load headers. */
  adapter: EngineAdapter;
  weight: number;
  maxConcurrency: number;
  /** Authorization header value for the backend, if the config has an apiKey. */
  authorization: string | null;
}

export interface RuntimePool {
  name: string;
  backends: RuntimeBackend[];
  policy: RoutingPolicy;
  /** Effective affinity settings: the pool's own, else the tenant's. */
  affinity: AffinityConfig;
}

export interface ModelRoute {
  publicName: string;
  pool: RuntimePool;
  /** Name sent upstream; when it differs from the public name the body is rewritten. */
  upstreamModel: string;
}

/** An enabled experiment with its arms and shadow target resolved to routes. */
export interface RuntimeExperiment {
  experiment: Experiment;
  /** Same order as experiment.arms. */
  armRoutes: ModelRoute[];
  /** Shadow pool and model (the model defaults to the primary arm's; resolved per request). */
  shadowPool: RuntimePool | null;
}

export interface RuntimeTenant {
  tenantId: string;
  version: number;
  updatedAt: string;
  config: TenantConfig;
  models: Map<string, ModelRoute>;
  /** Public model name -> the enabled experiment that takes it over. */
  experiments: Map<string, RuntimeExperiment>;
  /** `GET /v1/models` body, pre-serialised. */
  modelsJson: string;
}

/** Which tenant's which pool a policy instance serves (platforms key shared policy state on it). */
export interface PolicyScope {
  tenantId: string;
  pool: string;
}

export type PolicyFactory = (affinity: AffinityConfig, scope: PolicyScope) => RoutingPolicy;

/** A tenant's config at one version, as a tenant store holds it (src/tenants/store.ts TenantRecord is one). */
export interface VersionedTenantConfig {
  tenantId: string;
  version: number;
  config: TenantConfig;
  updatedAt: string;
}

export function compileTenant(rec: VersionedTenantConfig, createPolicy: PolicyFactory): RuntimeTenant {
  const { config } = rec;
  const pools = new Map<string, RuntimePool>();
  for (const [name, p] of Object.entries(config.pools)) {
    const affinity = p.affinity ?? config.affinity;
    pools.set(name, {
      name,
      affinity,
      policy: createPolicy(affinity, { tenantId: rec.tenantId, pool: name }),
      backends: p.backends.map((b) => ({
        id: b.id,
        url: b.url.replace(/\/$/, ''),
        engine: b.engine ?? DEFAULT_ENGINE,
        adapter: adapterFor(b.engine ?? DEFAULT_ENGINE),
        weight: b.weight,
        maxConcurrency: b.maxConcurrency,
        authorization: b.apiKey ? `Bearer ${b.apiKey}` : null,
      })),
    });
  }
  const models = new Map<string, ModelRoute>();
  for (const [publicName, route] of Object.entries(config.models)) {
    models.set(publicName, { publicName, pool: pools.get(route.pool)!, upstreamModel: route.model ?? publicName });
  }
  const experiments = new Map<string, RuntimeExperiment>();
  for (const exp of config.experiments) {
    if (!exp.enabled) continue;
    experiments.set(exp.model, {
      experiment: exp,
      armRoutes: exp.arms.map((a) => ({ publicName: exp.model, pool: pools.get(a.pool)!, upstreamModel: a.model ?? exp.model })),
      shadowPool: exp.shadow ? pools.get(exp.shadow.pool)! : null,
    });
  }
  const publicNames = new Set([...models.keys(), ...experiments.keys()]);
  const created = Math.floor(Date.parse(rec.updatedAt) / 1000) || 0;
  const modelsJson = JSON.stringify({
    object: 'list',
    data: [...publicNames].sort().map((id) => ({ id, object: 'model', created, owned_by: rec.tenantId })),
  });
  return { tenantId: rec.tenantId, version: rec.version, updatedAt: rec.updatedAt, config, models, experiments, modelsJson };
}
