// The policy factory: a policy name from config -> a RoutingPolicy instance. One instance per router instance
// (isolate / replica) and pool; per-instance state (counters, indexes, popularity) lives in the instance.
import { type AffinityPolicyName, DEFAULT_POLICY, type PolicyOptions, type Routers } from '../../config/affinity.ts';
import { ownOptions, type PolicyOptionsOf } from '../../config/policy-options.ts';
import type { RoutingPolicy } from './policy.ts';
import type { BoardLookup } from './board-lookup.ts';
import type { PopularitySource } from './prefix-popularity.ts';
import type { PlacementView } from './shared-placements.ts';
import { CacheAwarePolicy } from './cache-aware.ts';
import { ConsistentHashPolicy } from './consistent-hash.ts';
import { LeastLoadedPolicy } from './least-loaded.ts';
import { PrefixAffinityPolicy } from './prefix-affinity.ts';
import { RandomPolicy } from './random.ts';
import { RendezvousPolicy } from './rendezvous.ts';
import { RoundRobinPolicy } from './round-robin.ts';

export { DEFAULT_POLICY };

/** What a policy may be handed besides its config options: objects owned by the platform. */
export interface PolicyRuntime {
  /** prefix-affinity: a popularity view shared with other router instances (shared-popularity.ts). */
  popularity?: PopularitySource;
  /** prefix-affinity: where other router instances placed each key (shared-placements.ts). */
  placements?: PlacementView;
  /** prefix-affinity: a look at the shared board before placing a long prompt blind (board-lookup.ts). */
  lookup?: BoardLookup;
  /** prefix-affinity: the deployment, as the runtime states it (config/affinity.ts routersSchema). */
  routers?: Routers;
}

// Each policy is built from its own parsed options (config/policy-options.ts): it cannot read an undeclared one.
const factories: { [P in AffinityPolicyName]: (o: PolicyOptionsOf<P>, rt: PolicyRuntime) => RoutingPolicy } = {
  'prefix-affinity': (o, rt) => new PrefixAffinityPolicy({ ...o, popularity: rt.popularity, placements: rt.placements, lookup: rt.lookup, routers: rt.routers }),
  random: (o) => new RandomPolicy(o.seed),
  'round-robin': () => new RoundRobinPolicy(),
  'least-loaded': () => new LeastLoadedPolicy(),
  'consistent-hash': (o) => new ConsistentHashPolicy(o),
  rendezvous: (o) => new RendezvousPolicy(o),
  'cache-aware': (o) => new CacheAwarePolicy(o),
};

export const policyNames = Object.keys(factories) as AffinityPolicyName[];

export function isPolicyName(name: string): name is AffinityPolicyName {
  return Object.hasOwn(factories, name);
}

/** Builds a policy from its parsed config (a pool's `affinity`: the policy name and that policy's options). */
export function buildPolicy<P extends AffinityPolicyName>(config: { policy: P; options: PolicyOptionsOf<P> }, runtime: PolicyRuntime = {}): RoutingPolicy {
  return factories[config.policy](config.options, runtime);
}

/**
 * Builds a policy by name from a bag of any policies' options (tools run several policies with one bag); the
 * policy gets only the options it declares. 'default' is kvroute's default. Throws on an unknown name, listing the
 * known ones.
 */
export function createPolicy(name: string, options: PolicyOptions = {}, runtime: PolicyRuntime = {}): RoutingPolicy {
  const key = name === 'default' ? DEFAULT_POLICY : name;
  if (!isPolicyName(key)) throw new Error(`unknown routing policy '${key}' (known: ${policyNames.join(', ')})`);
  return buildPolicy({ policy: key, options: ownOptions(key, options) }, runtime);
}
