// Starts the shadow flow of a sampled request at request time (the request is teed, not the response), in
// waitUntil: it never delays or fails the primary. Returns the function the primary calls with its outcome when
// it finishes, so the flow can write one paired record.
import type { InferenceBody } from '../api/openai-api.ts';
import type { ModelRoute, RuntimeExperiment } from '../runtime-model/compile.ts';
import type { AnalyticsEvent } from '../analytics/event.ts';
import { decide, type Decision } from '../routing/decide.ts';
import type { RoutingInput } from '../routing/policies/policy.ts';
import type { LegOutcome } from '../experiments/shadow/leg.ts';
import { estimateShadowTokens, type ShadowLimiter } from '../experiments/shadow/limiter.ts';
import { runShadowFlow, type ShadowPlan } from '../experiments/shadow/orchestrate.ts';
import type { ShadowTarget } from '../experiments/shadow/run.ts';
import type { BackendStates } from '../upstream/backend-state.ts';
import type { UpstreamClient } from '../upstream/types.ts';

export interface ShadowDeps {
  client: UpstreamClient;
  states: BackendStates;
  now: () => number;
  defer: (p: Promise<unknown>) => void;
  limiter: ShadowLimiter;
  emit: (events: AnalyticsEvent[]) => void | Promise<void>;
}

export interface ShadowStart {
  plan: ShadowPlan;
  experiment: RuntimeExperiment;
  arm: string;
  route: ModelRoute;
  routing: RoutingInput;
  tenantId: string;
  requestId: string;
  path: string;
  body: InferenceBody;
  raw: Record<string, unknown>;
  promptChars: number;
}

function targetOf(d: Decision | null, model: string): ShadowTarget | null {
  return d ? { pool: d.pool, backendId: d.backend.id, baseUrl: d.backend.url, upstreamModel: model } : null;
}

function headersFor(d: Decision | null): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  if (d?.backend.authorization) h.authorization = d.backend.authorization;
  return h;
}

/** Resolves after the current turn of the event loop: the primary's request is on the wire by then. */
const afterPrimaryDispatch = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export function startShadow(deps: ShadowDeps, s: ShadowStart): (primary: LegOutcome) => void {
  let report!: (primary: LegOutcome) => void;
  const primary = new Promise<LegOutcome>((resolve) => (report = resolve));
  // Registered with waitUntil now, but the shadow's routing, body and send wait until the primary has been
  // dispatched: the shadow never goes out ahead of the request the user is waiting for.
  deps.defer(afterPrimaryDispatch().then(() => runShadow(deps, s, primary)));
  return report;
}

function runShadow(deps: ShadowDeps, s: ShadowStart, primary: Promise<LegOutcome>): Promise<void> {
  const cfg = s.experiment.experiment.shadow!;
  const shadowModel = cfg.model ?? s.route.upstreamModel;
  const shadowPool = s.experiment.shadowPool!;
  const routing = { ...s.routing, now: deps.now() };
  // The shadow leg goes where the shadow pool's own policy would send this request.
  const shadowDecision = decide({ publicName: s.body.model, pool: shadowPool, upstreamModel: shadowModel }, routing, deps.states, new Set(), 1);
  const noiseDecision = s.plan.noiseFloor ? decide(s.route, routing, deps.states, new Set(), 1) : null;
  return runShadowFlow(
    { send: (r) => deps.client.send(r), now: deps.now, limiter: deps.limiter, emit: deps.emit },
    {
      plan: s.plan,
      tenant: s.tenantId,
      requestId: s.requestId,
      correlationId: s.requestId,
      model: s.body.model,
      experiment: s.experiment.experiment.name,
      arm: s.arm,
      path: s.path,
      body: s.raw,
      reserveTokens: estimateShadowTokens(s.raw, s.promptChars),
      limits: { maxConcurrent: cfg.maxConcurrent, dailyTokenBudget: cfg.dailyTokenBudget, timeoutMs: cfg.timeoutMs },
      shadowTarget: targetOf(shadowDecision, shadowModel),
      shadowPool: shadowPool.name,
      shadowModel,
      shadowHeaders: headersFor(shadowDecision),
      noiseTarget: targetOf(noiseDecision, s.route.upstreamModel),
      noiseHeaders: headersFor(noiseDecision),
      primary,
    },
  );
}
