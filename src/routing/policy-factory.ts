// Builds a pool's routing policy from its configured name. One instance per (tenant version, pool) per isolate.
import type { PolicyFactory } from '../config/compile.ts';
import { LeastLoadedPolicy } from './policies/least-loaded.ts';

export const defaultPolicyFactory: PolicyFactory = (name) => {
  if (name === 'least-loaded') return new LeastLoadedPolicy();
  throw new Error(`unknown routing policy '${name}'`);
};
