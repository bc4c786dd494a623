// Builds a pool's routing policy from its effective affinity settings. One instance per (tenant version, pool)
// per isolate / replica; per-instance policy state lives in it.
import type { PolicyFactory } from '../config/compile.ts';
import { createPolicy } from './policies/index.ts';

export const defaultPolicyFactory: PolicyFactory = (affinity) => createPolicy(affinity.policy, affinity.options);
