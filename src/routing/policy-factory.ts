// Builds a pool's routing policy from its effective affinity settings. One instance per (tenant version, pool)
// per isolate / replica; per-instance policy state lives in it.
import type { Routers } from '../config/affinity.ts';
import type { PolicyFactory } from '../runtime-model/compile.ts';
import { buildPolicy } from './policies/index.ts';
import { DEFAULT_POPULARITY_HALF_LIFE } from './policies/prefix-popularity.ts';
import type { PopularityExchange } from './popularity-exchange.ts';

/** Policies of a deployment with `routers` router instances per pool (config/affinity.ts). */
export function policyFactoryFor(routers: Routers): PolicyFactory {
  return (affinity) => buildPolicy(affinity, { routers });
}

/** One router carries the whole traffic (a single Node router; tests). */
export const defaultPolicyFactory: PolicyFactory = policyFactoryFor('one');

/** Prefix-affinity pools read popularity and placements shared through `exchange` with the other routers. */
export function sharedPopularityPolicyFactory(exchange: PopularityExchange, routers: Routers = 'many'): PolicyFactory {
  return (affinity, scope) =>
    buildPolicy(
      affinity,
      affinity.policy === 'prefix-affinity'
        ? { ...exchange.viewsFor(scope.tenantId, scope.pool, affinity.options.popularityHalfLife ?? DEFAULT_POPULARITY_HALF_LIFE), routers }
        : { routers },
    );
}
