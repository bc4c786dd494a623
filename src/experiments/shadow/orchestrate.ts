// The whole shadow flow for one sampled request, as one promise for waitUntil:
//   admit (limiter) -> run the shadow leg (and the noise-floor leg) concurrently with the primary ->
//   wait for the primary's outcome -> one paired record per candidate -> emit.
// Never throws and never touches the primary: the router only hands over a promise of the primary's outcome.
// Every sampled request yields exactly one 'shadow' pair record (a skipped or failed shadow says why in
// cand.error_class), plus one 'noise' record when the noise floor was sampled.
import type { AnalyticsEvent } from '../../analytics/event.ts';
import { skippedLeg, type LegOutcome } from './leg.ts';
import type { ShadowLimiter, ShadowLimits } from './limiter.ts';
import { buildPairRecord } from './pair.ts';
import { runShadowLeg, type ShadowRunDeps, type ShadowTarget } from './run.ts';

/** Which legs a sampled request sends (experiments/assignment.ts samples it from the request id). */
export interface ShadowPlan {
  /** Send a shadow leg to the experiment's shadow target. */
  shadow: boolean;
  /** Also send a second primary leg (same arm) to measure primary-vs-primary noise. Implies shadow. */
  noiseFloor: boolean;
}

export interface ShadowFlowDeps extends ShadowRunDeps {
  limiter: ShadowLimiter;
  /** Hands the records to the durable analytics path (Queue producer / node buffer). May be async. */
  emit(events: AnalyticsEvent[]): void | Promise<void>;
  /** Wall-clock ms since the epoch for record timestamps (defaults to Date.now). */
  wallClock?(): number;
}

export interface ShadowFlowInput {
  plan: ShadowPlan;
  tenant: string;
  requestId: string;
  correlationId: string;
  /** Public model name, experiment and arm of the primary. */
  model: string;
  experiment: string;
  arm: string;
  path: string;
  body: Record<string, unknown>;
  /** Token reservation for the limiter (see estimateShadowTokens). */
  reserveTokens: number;
  limits: ShadowLimits;
  /** Shadow pool/backend chosen by the router's decide(); null when the shadow pool had no eligible backend. */
  shadowTarget: ShadowTarget | null;
  shadowPool: string;
  shadowModel: string;
  shadowHeaders: Record<string, string>;
  /** Second primary backend for the noise floor (same pool and model as the arm); null when not sampled or none. */
  noiseTarget: ShadowTarget | null;
  noiseHeaders?: Record<string, string>;
  /** Resolves when the primary finished (the router's stream tap). Must resolve, never reject. */
  primary: Promise<LegOutcome>;
  /** Aborts in-flight legs (process shutdown). */
  signal?: AbortSignal;
}

async function admitAndRun(deps: ShadowFlowDeps, input: ShadowFlowInput, kind: 'shadow' | 'noise'): Promise<LegOutcome> {
  const target = kind === 'shadow' ? input.shadowTarget : input.noiseTarget;
  const pool = kind === 'shadow' ? input.shadowPool : target?.pool ?? '';
  const model = kind === 'shadow' ? input.shadowModel : target?.upstreamModel ?? '';
  if (!target) return skippedLeg(pool, model, 'no_backend', `no eligible backend in pool '${pool}'`);
  const key = `${input.tenant}/${input.experiment}`;
  const permit = deps.limiter.tryStart(key, input.limits, deps.now(), input.reserveTokens);
  if (!permit.granted) {
    const why = permit.reason === 'concurrency' ? `${input.limits.maxConcurrent} shadow legs already in flight` : 'daily shadow token budget exhausted';
    return skippedLeg(pool, model, permit.reason === 'concurrency' ? 'skipped_concurrency' : 'skipped_budget', why);
  }
  let out: LegOutcome | undefined;
  try {
    out = await runShadowLeg(deps, {
      target,
      path: input.path,
      body: input.body,
      headers: kind === 'shadow' ? input.shadowHeaders : input.noiseHeaders ?? {},
      kind,
      timeoutMs: input.limits.timeoutMs,
      signal: input.signal,
    });
    return out;
  } finally {
    permit.finish(out ? out.leg.prompt_tokens + out.leg.completion_tokens : 0, deps.now());
  }
}

const PRIMARY_GRACE_MS = 5_000;

/** Runs the shadow flow; resolves when the records were emitted. Put it in waitUntil when the primary is sent. */
export async function runShadowFlow(deps: ShadowFlowDeps, input: ShadowFlowInput): Promise<void> {
  if (!input.plan.shadow) return;
  const wall = deps.wallClock ?? Date.now;
  try {
    const shadowLeg = admitAndRun(deps, input, 'shadow');
    const noiseLeg = input.plan.noiseFloor ? admitAndRun(deps, input, 'noise') : undefined;
    const primary = await withDeadline(input.primary, input.limits.timeoutMs + PRIMARY_GRACE_MS);
    const [shadow, noise] = await Promise.all([shadowLeg, noiseLeg]);
    const meta = {
      tenant: input.tenant,
      requestId: input.requestId,
      correlationId: input.correlationId,
      model: input.model,
      experiment: input.experiment,
      arm: input.arm,
      stream: input.body.stream === true,
    };
    const records: AnalyticsEvent[] = [buildPairRecord(primary, shadow, { ...meta, pairKind: 'shadow', now: wall() })];
    if (noise) records.push(buildPairRecord(primary, noise, { ...meta, pairKind: 'noise', now: wall() }));
    await deps.emit(records);
  } catch (err) {
    // Only emit() can throw here; the durable path logs its own failures. Never reject inside waitUntil.
    console.error(`kvroute shadow: could not emit pair record for ${input.requestId}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function withDeadline(p: Promise<LegOutcome>, ms: number): Promise<LegOutcome> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<LegOutcome>((resolve) => {
    timer = setTimeout(() => resolve(skippedLeg('', '', 'internal', `primary outcome not reported within ${ms} ms`)), ms);
  });
  return Promise.race([p.catch((e: unknown) => skippedLeg('', '', 'internal', `primary outcome failed: ${String(e)}`)), late]).finally(() => clearTimeout(timer));
}
