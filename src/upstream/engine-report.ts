// What the probes find wrong with how a backend's engine is configured, so that it is reported (a warning in the
// log, a line in GET /admin/backends) instead of passing in silence: the config leaves the engine kind out (the
// default is assumed), the engine's metrics do not match its kind (a llama-server configured as vllm answers
// /metrics with none of vllm's names and would look healthy with an empty load report), or its metrics are
// missing or refused. Pure: probe results in, problems out.
import { DEFAULT_ENGINE } from '../config/schema.ts';
import { metricNamesOf, type EngineAdapter } from '../../gpu-backends/adapters/index.ts';
import { enginesInMetrics, metricsMatch } from '../../gpu-backends/adapters/identify.ts';

/** Kinds of problem; a warning is logged once per backend and kind. */
export type EngineProblemKind = 'engine-unset' | 'metrics-mismatch' | 'metrics-refused' | 'metrics-unavailable';

export interface EngineProblem {
  kind: EngineProblemKind;
  message: string;
}

export const engineUnset = (): EngineProblem => ({ kind: 'engine-unset', message: `engine not set: assumed '${DEFAULT_ENGINE}'; set the backend's engine` });

/** What a metrics scrape that answered `status` with `text` says about the configured engine; null when it fits. */
export function metricsProblem(adapter: EngineAdapter, status: number, text: string): EngineProblem | null {
  const path = adapter.metricsPath ?? '/metrics';
  if (status === 401 || status === 403) {
    return { kind: 'metrics-refused', message: `${path} answered ${status}: the engine wants credentials; set the backend's apiKey` };
  }
  if (status !== 200) {
    // 5xx is the engine's trouble (health probes judge that); 404 or 501 means the endpoint is off or absent.
    if (status >= 500 && status !== 501) return null;
    const hint = adapter.metricsHint ? `; ${adapter.metricsHint}` : '';
    return { kind: 'metrics-unavailable', message: `${path} answered ${status}: no engine load is read${hint}, or set the engine kind it really is` };
  }
  if (metricsMatch(adapter, text)) return null;
  const others = enginesInMetrics(text, adapter.kind);
  const guess = others.length ? `; looks like ${others.join(' or ')}` : '';
  return {
    kind: 'metrics-mismatch',
    message: `metrics do not match engine '${adapter.kind}': none of ${metricNamesOf(adapter.metricNames).join(', ')} found${guess}`,
  };
}

/** The problems as one line for GET /admin/backends; null when there are none. */
export function reportLine(problems: readonly EngineProblem[]): string | null {
  return problems.length ? problems.map((p) => p.message).join('; ') : null;
}
