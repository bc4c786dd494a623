// Alert transitions: a feature alerts once when it enters major drift, not on every evaluation while it stays
// there. insufficient_data carries no information (a new window starts empty), so it does not reset the state:
// drift that persists into the next window does not alert again; a recovery to none/minor re-arms the alert.
import type { DriftStatus } from './psi.ts';
import type { FeatureDrift } from './report.ts';

export interface DriftAlert {
  tenantId: string;
  model: string;
  arm: string;
  feature: string;
  window: string;
  windowStart: number;
  psi: number;
  crit: number | null;
  n: number;
  m: number;
  baselineVersion: number | 'trailing';
  at: number;
}

/** One row per feature status change, for the analytics store. */
export interface DriftStatusRow {
  tenantId: string;
  model: string;
  arm: string;
  feature: string;
  window: string;
  windowStart: number;
  status: DriftStatus;
  previous: DriftStatus | null;
  psi: number;
  js: number;
  /** The chi-square guard the status was judged against (null when nothing was compared). */
  crit: number | null;
  n: number;
  m: number;
  baselineVersion: number | 'trailing';
  at: number;
}

/** Last definitive status per `model|arm|feature`, plus the last reported status (for change rows). */
export interface AlertState {
  definitive: Record<string, DriftStatus>;
  reported: Record<string, DriftStatus>;
}

export const emptyAlertState = (): AlertState => ({ definitive: {}, reported: {} });

export interface TransitionContext {
  tenantId: string;
  model: string;
  arm: string;
  window: string;
  windowStart: number;
  baselineVersion: number | 'trailing';
  at: number;
}

/** Applies one evaluation to the state (mutating it) and returns the alerts and status-change rows it causes. */
export function applyEvaluation(
  state: AlertState,
  ctx: TransitionContext,
  features: readonly FeatureDrift[],
): { alerts: DriftAlert[]; rows: DriftStatusRow[] } {
  const alerts: DriftAlert[] = [];
  const rows: DriftStatusRow[] = [];
  for (const f of features) {
    const key = `${ctx.model}|${ctx.arm}|${f.feature}`;
    const previous = state.reported[key] ?? null;
    if (previous !== f.status) {
      rows.push({ tenantId: ctx.tenantId, model: ctx.model, arm: ctx.arm, feature: f.feature, window: ctx.window, windowStart: ctx.windowStart, status: f.status, previous, psi: f.psi, js: f.js, crit: f.crit, n: f.n, m: f.m, baselineVersion: ctx.baselineVersion, at: ctx.at });
      state.reported[key] = f.status;
    }
    if (f.status === 'insufficient_data') continue;
    if (f.status === 'major' && state.definitive[key] !== 'major') {
      alerts.push({ tenantId: ctx.tenantId, model: ctx.model, arm: ctx.arm, feature: f.feature, window: ctx.window, windowStart: ctx.windowStart, psi: f.psi, crit: f.crit, n: f.n, m: f.m, baselineVersion: ctx.baselineVersion, at: ctx.at });
    }
    state.definitive[key] = f.status;
  }
  return { alerts, rows };
}
