// Experiment arm assignment on the hot path: a tenant's public model may be taken over by an A/B experiment;
// the sticky key picks the arm, the arm picks the pool and upstream model. Pure and synchronous.
import type { ModelRoute, RuntimeExperiment, RuntimeTenant } from '../runtime-model/compile.ts';
import { assignArm, stickyKeyOf, type StickySource } from './assignment.ts';

export interface RouteChoice {
  route: ModelRoute;
  experiment: RuntimeExperiment | null;
  /** '' outside an experiment. */
  experimentName: string;
  arm: string;
  stickySource: StickySource | null;
}

export function chooseRoute(
  tenant: RuntimeTenant,
  model: string,
  sticky: { header(name: string): string | null; bodyUser: unknown; apiKeyId: string; requestId: string },
): RouteChoice | null {
  const exp = tenant.experiments.get(model);
  if (!exp) {
    const route = tenant.models.get(model);
    return route ? { route, experiment: null, experimentName: '', arm: '', stickySource: null } : null;
  }
  const key = stickyKeyOf(
    { bodyUser: sticky.bodyUser, headers: { get: (n: string) => sticky.header(n) } as unknown as Headers, apiKeyId: sticky.apiKeyId, requestId: sticky.requestId },
    exp.experiment,
  );
  const a = assignArm(exp.experiment, key);
  return { route: exp.armRoutes[a.armIndex]!, experiment: exp, experimentName: exp.experiment.name, arm: a.arm.name, stickySource: key.source };
}
