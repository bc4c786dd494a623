// The real-engine bench's results, summarised: per policy the medians over its runs, the markdown table, and the
// targets the default policy must meet against round-robin and least-loaded.
import type { replayE2e } from '../routing-lab/e2e.ts';
import { quantile } from '../routing-lab/metrics.ts';

export type ReplayResult = Awaited<ReturnType<typeof replayE2e>>;

/** One run: one policy on freshly started engines, one seed's workload. */
export interface Run extends ReplayResult {
  repeat: number;
  seed: number;
  /** Position of the run within its repeat (the order is interleaved across repeats). */
  position: number;
  engineStartMs: number;
  wallMs: number;
  loadAverage: number[];
}

export interface PolicyMedians {
  policy: string;
  runs: number;
  failed: number;
  ttftP50Ms: number;
  ttftP90Ms: number;
  ttftP99Ms: number;
  /** By the engines' own counters (llamacpp:prompt_tokens_total), summed over the engines. */
  processedPromptTokens: number;
  promptTokens: number;
  /** From the responses' cache receipts. */
  hitRate: number;
  /** The busiest backend's fraction of the requests. */
  busiestRequestShare: number;
  /** That over the mean (1 = an even split). */
  busiestOverMean: number;
  /** Largest gap, over the runs and backends, between the hit rate of the router's receipts and the engine's own. */
  receiptsVsEngineMaxGap: number;
}

const median = (xs: number[]) => quantile(xs, 0.5);

export function receiptsGap(r: ReplayResult): number {
  return Math.max(0, ...r.perBackendHitRate.map((b) => (b.engine === null ? Infinity : Math.abs(b.receipts - b.engine))));
}

export function mediansByPolicy(runs: readonly Run[]): PolicyMedians[] {
  const policies = [...new Set(runs.map((r) => r.policy))];
  return policies.map((policy) => {
    const rs = runs.filter((r) => r.policy === policy);
    const m = (f: (r: Run) => number) => median(rs.map(f));
    return {
      policy,
      runs: rs.length,
      failed: rs.reduce((a, r) => a + r.failed, 0),
      ttftP50Ms: m((r) => r.ttftP50Ms),
      ttftP90Ms: m((r) => r.ttftP90Ms),
      ttftP99Ms: m((r) => r.ttftP99Ms),
      processedPromptTokens: m((r) => r.engineProcessedPromptTokens ?? NaN),
      promptTokens: m((r) => r.promptTokens),
      hitRate: m((r) => r.hitRate),
      busiestRequestShare: m((r) => r.busiestRequestShare),
      busiestOverMean: m((r) => r.busiestShare),
      receiptsVsEngineMaxGap: Math.max(...rs.map(receiptsGap)),
    };
  });
}

export interface Target {
  name: string;
  pass: boolean;
  detail: string;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number) => `${Math.round(x).toLocaleString('en')}`;

/** The targets for the default policy, on the medians; a missing comparison policy fails its target. */
export function checkTargets(medians: readonly PolicyMedians[], defaultPolicy: string): Target[] {
  const d = medians.find((m) => m.policy === defaultPolicy);
  const rr = medians.find((m) => m.policy === 'round-robin');
  const ll = medians.find((m) => m.policy === 'least-loaded');
  if (!d || !rr || !ll) return [{ name: 'default, round-robin and least-loaded all measured', pass: false, detail: `have ${medians.map((m) => m.policy).join(', ')}` }];
  const fewer = 1 - d.processedPromptTokens / rr.processedPromptTokens;
  const gap = Math.max(...medians.map((m) => m.receiptsVsEngineMaxGap));
  return [
    { name: 'default processes >= 30% fewer prompt tokens than round-robin', pass: fewer >= 0.3, detail: `${pct(fewer)} fewer (${d.processedPromptTokens.toLocaleString('en')} vs ${rr.processedPromptTokens.toLocaleString('en')})` },
    { name: 'default TTFT p50 <= round-robin and least-loaded', pass: d.ttftP50Ms <= rr.ttftP50Ms && d.ttftP50Ms <= ll.ttftP50Ms, detail: `${ms(d.ttftP50Ms)} vs ${ms(rr.ttftP50Ms)}, ${ms(ll.ttftP50Ms)} ms` },
    { name: 'default TTFT p99 <= round-robin and least-loaded', pass: d.ttftP99Ms <= rr.ttftP99Ms && d.ttftP99Ms <= ll.ttftP99Ms, detail: `${ms(d.ttftP99Ms)} vs ${ms(rr.ttftP99Ms)}, ${ms(ll.ttftP99Ms)} ms` },
    { name: 'default busiest backend <= 1.3x the mean', pass: d.busiestOverMean <= 1.3, detail: `${d.busiestOverMean.toFixed(2)}x (${pct(d.busiestRequestShare)} of requests)` },
    { name: "receipts' hit rate per backend within 2 points of the engines' counters (every run)", pass: gap <= 0.02, detail: `largest gap ${(gap * 100).toFixed(2)} points` },
  ];
}

export function markdownTable(medians: readonly PolicyMedians[], defaultPolicy: string): string {
  const rows = medians.map(
    (m) =>
      `| ${m.policy}${m.policy === defaultPolicy ? ' (default)' : ''} | ${ms(m.ttftP50Ms)} / ${ms(m.ttftP90Ms)} / ${ms(m.ttftP99Ms)} | ${m.processedPromptTokens.toLocaleString('en')} | ${pct(m.hitRate)} | ${pct(m.busiestRequestShare)} (${m.busiestOverMean.toFixed(2)}x) | ${m.failed} |`,
  );
  return [
    '| policy | TTFT p50 / p90 / p99 ms | prompt tokens processed | cache hit | busiest backend (busiest/mean) | failed |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export function targetLines(targets: readonly Target[]): string {
  return targets.map((t) => `- ${t.pass ? 'PASS' : 'FAIL'}: ${t.name}: ${t.detail}`).join('\n');
}
