// Builds a pool's routing policy from its effective affinity settings. One instance per (tenant version, pool)
// per isolate / replica; per-instance policy state lives in it.
import type { PolicyFactory } from '../config/compile.ts';
import { createPolicy } from './policies/index.ts';
import { DEFAULT_POPULARITY_HALF_LIFE } from './policies/prefix-popularity.ts';
import type { PopularityExchange } from './popularity-exchange.ts';

export const defaultPolicyFactory: PolicyFactory = (affinity) => createPolicy(affinity.policy, affinity.options);

/** The default factory, with prefix-affinity pools reading popularity and placements shared through `exchange`. */
export function sharedPopularityPolicyFactory(exchange: PopularityExchange): PolicyFactory {
  return (affinity, scope) =>
    createPolicy(
      affinity.policy,
      affinity.options,
      affinity.policy === 'prefix-affinity'
        ? exchange.viewsFor(scope.tenantId, scope.pool, affinity.options.popularityHalfLife ?? DEFAULT_POPULARITY_HALF_LIFE)
        : {},
    );
}
