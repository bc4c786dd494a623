// The experiment report: per arm (requests, error rate, TTFT and latency p50/p95, tokens) and shadow agreement
// (per pair kind), plus Diffy verdicts of candidate-vs-primary disagreement against the primary-vs-primary noise
// floor. One function, two SQL dialects (ClickHouse and SQLite/D1) over the same table.
//
// Quantiles are exact and defined the same way in both dialects: the value at 0-based rank
// min(floor(q * n), n - 1) of the sorted non-null values (ClickHouse quantileExact). ClickHouse queries use
// FINAL so that a re-sent event is counted once even before the background merge.
import { diffyVerdict, type DiffyVerdict } from './shadow/compare.ts';
import { Conditions, num, rate, type Queryable } from '../analytics/queryable.ts';

export interface ReportFilter {
  tenant: string;
  experiment: string;
  /** Only events at or after this time (ms since the epoch). */
  sinceMs?: number;
}

/** The events of one experiment of one tenant, of one type; values bound as query parameters. */
function where(q: Queryable, f: ReportFilter, type: 'request' | 'shadow_pair'): Conditions {
  const w = new Conditions(q.dialect).equals('tenant', f.tenant).equals('experiment', f.experiment).fixed(`type = '${type}'`);
  return f.sinceMs === undefined ? w : w.atLeast('ts_ms', f.sinceMs);
}

// ---- ClickHouse SQL (also what docs/experiments.md shows) --------------------------------------------------------------

export function clickhouseArmSql(table: string, whereClause: string): string {
  return `SELECT
  arm,
  count() AS requests,
  countIf(error_class != '' OR status >= 400) AS errors,
  quantileExact(0.5)(ttft_ms) AS ttft_p50_ms,
  quantileExact(0.95)(ttft_ms) AS ttft_p95_ms,
  quantileExact(0.5)(latency_ms) AS latency_p50_ms,
  quantileExact(0.95)(latency_ms) AS latency_p95_ms,
  sum(prompt_tokens) AS prompt_tokens,
  sum(completion_tokens) AS completion_tokens,
  sum(cached_tokens) AS cached_tokens
FROM ${table} FINAL
WHERE ${whereClause}
GROUP BY arm
ORDER BY arm`;
}

export function clickhouseShadowSql(table: string, whereClause: string): string {
  return `SELECT
  pair_kind,
  count() AS pairs,
  countIf(comparable = 1) AS comparable_pairs,
  countIf(cand_error_class != '' AND cand_error_class NOT LIKE 'skipped%') AS candidate_errors,
  countIf(cand_error_class LIKE 'skipped%') AS skipped,
  countIf(error_class != '') AS primary_errors,
  countIf(comparable = 1 AND exact_match = 0) AS exact_mismatches,
  countIf(comparable = 1 AND finish_agree = 0) AS finish_disagreements,
  avgIf(similarity, comparable = 1) AS similarity_mean,
  quantileExactIf(0.5)(similarity, comparable = 1) AS similarity_p50,
  avgIf(length_ratio, comparable = 1) AS length_ratio_mean,
  quantileExactIf(0.5)(ttft_ms, comparable = 1) AS primary_ttft_p50_ms,
  quantileExactIf(0.5)(cand_ttft_ms, comparable = 1) AS candidate_ttft_p50_ms,
  quantileExactIf(0.5)(latency_ms, comparable = 1) AS primary_latency_p50_ms,
  quantileExactIf(0.5)(cand_latency_ms, comparable = 1) AS candidate_latency_p50_ms
FROM ${table} FINAL
WHERE ${whereClause}
GROUP BY pair_kind
ORDER BY pair_kind`;
}

// ---- SQLite SQL: same numbers, quantiles through window functions -------------------------------------------

function sqliteQuantiles(table: string, whereClause: string, group: string, cols: [string, number, string][]): string {
  // The filter once (its parameters are bound by position), then one CTE per column: rank the non-null values
  // within the group, keep rank min(floor(q*n), n-1).
  const ctes = [...new Set(cols.map(([c]) => c))].map(
    (c) => `q_${c} AS (SELECT ${group} AS g, ${c} AS v, ROW_NUMBER() OVER (PARTITION BY ${group} ORDER BY ${c}) - 1 AS rn, COUNT(*) OVER (PARTITION BY ${group}) AS n FROM filtered WHERE ${c} IS NOT NULL)`,
  );
  const selects = cols.map(([c, q, alias]) => `(SELECT v FROM q_${c} WHERE q_${c}.g = groups.g AND rn = MIN(CAST(${q} * n AS INTEGER), n - 1)) AS ${alias}`);
  return `WITH filtered AS (SELECT * FROM ${table} WHERE ${whereClause}),\n${ctes.join(',\n')},\ngroups AS (SELECT DISTINCT ${group} AS g FROM filtered)\nSELECT g, ${selects.join(',\n  ')} FROM groups`;
}

export function sqliteArmSql(table: string, whereClause: string): string {
  return `SELECT arm,
  COUNT(*) AS requests,
  SUM(CASE WHEN error_class != '' OR status >= 400 THEN 1 ELSE 0 END) AS errors,
  SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(cached_tokens) AS cached_tokens
FROM ${table} WHERE ${whereClause} GROUP BY arm ORDER BY arm`;
}

export function sqliteShadowSql(table: string, whereClause: string): string {
  return `SELECT pair_kind,
  COUNT(*) AS pairs,
  SUM(comparable = 1) AS comparable_pairs,
  SUM(cand_error_class != '' AND cand_error_class NOT LIKE 'skipped%') AS candidate_errors,
  SUM(cand_error_class LIKE 'skipped%') AS skipped,
  SUM(error_class != '') AS primary_errors,
  SUM(comparable = 1 AND exact_match = 0) AS exact_mismatches,
  SUM(comparable = 1 AND finish_agree = 0) AS finish_disagreements,
  AVG(CASE WHEN comparable = 1 THEN similarity END) AS similarity_mean,
  AVG(CASE WHEN comparable = 1 THEN length_ratio END) AS length_ratio_mean
FROM ${table} WHERE ${whereClause} GROUP BY pair_kind ORDER BY pair_kind`;
}

// ---- Report shape -------------------------------------------------------------------------------------------

export interface ArmReport {
  arm: string;
  requests: number;
  errors: number;
  error_rate: number;
  ttft_p50_ms: number | null;
  ttft_p95_ms: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
}

export interface PairStats {
  pairs: number;
  comparable: number;
  candidate_errors: number;
  skipped: number;
  primary_errors: number;
  exact_match_rate: number | null;
  finish_agree_rate: number | null;
  similarity_mean: number | null;
  similarity_p50: number | null;
  length_ratio_mean: number | null;
  primary_ttft_p50_ms: number | null;
  candidate_ttft_p50_ms: number | null;
  primary_latency_p50_ms: number | null;
  candidate_latency_p50_ms: number | null;
}

export interface ExperimentReport {
  tenant: string;
  experiment: string;
  since_ms: number | null;
  arms: ArmReport[];
  /** Candidate (shadow target) vs primary; null when no pairs. */
  shadow: PairStats | null;
  /** Second primary vs primary (Diffy noise floor); null when not sampled. */
  noise: PairStats | null;
  /** Diffy verdicts, when both shadow and noise pairs exist. */
  noise_floor: { exact_match: DiffyVerdict; finish_reason: DiffyVerdict } | null;
  similarity_measure: string;
}

/** A count or sum as the stores return it (ClickHouse sends 64-bit integers as strings); 0 when absent. */
const numOrNull = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};
/** part / whole, null when there is no whole. */

function pairStats(r: Record<string, unknown>, q: Record<string, unknown> | undefined): PairStats {
  const comparable = num(r.comparable_pairs);
  const pick = (k: string) => numOrNull(q ? q[k] : r[k]);
  return {
    pairs: num(r.pairs),
    comparable,
    candidate_errors: num(r.candidate_errors),
    skipped: num(r.skipped),
    primary_errors: num(r.primary_errors),
    exact_match_rate: rate(comparable - num(r.exact_mismatches), comparable),
    finish_agree_rate: rate(comparable - num(r.finish_disagreements), comparable),
    similarity_mean: comparable ? numOrNull(r.similarity_mean) : null,
    similarity_p50: comparable ? pick('similarity_p50') : null,
    length_ratio_mean: comparable ? numOrNull(r.length_ratio_mean) : null,
    primary_ttft_p50_ms: comparable ? pick('primary_ttft_p50_ms') : null,
    candidate_ttft_p50_ms: comparable ? pick('candidate_ttft_p50_ms') : null,
    primary_latency_p50_ms: comparable ? pick('primary_latency_p50_ms') : null,
    candidate_latency_p50_ms: comparable ? pick('candidate_latency_p50_ms') : null,
  };
}

/** Runs the report queries for one experiment of one tenant. */
export async function experimentReport(q: Queryable, tenantId: string, experimentName: string, opts: { sinceMs?: number } = {}): Promise<ExperimentReport> {
  const f: ReportFilter = { tenant: tenantId, experiment: experimentName, sinceMs: opts.sinceMs };
  const wReq = where(q, f, 'request');
  const wPair = where(q, f, 'shadow_pair');
  let armRows: Record<string, unknown>[];
  let pairRows: Record<string, unknown>[];
  let armQ = new Map<string, Record<string, unknown>>();
  let pairQ = new Map<string, Record<string, unknown>>();
  if (q.dialect === 'clickhouse') {
    [armRows, pairRows] = await Promise.all([q.rows(clickhouseArmSql(q.table, wReq.sql), wReq.params), q.rows(clickhouseShadowSql(q.table, wPair.sql), wPair.params)]);
  } else {
    const pairWhere = `${wPair.sql} AND comparable = 1`;
    let aq: Record<string, unknown>[];
    let pq: Record<string, unknown>[];
    [armRows, pairRows, aq, pq] = await Promise.all([
      q.rows(sqliteArmSql(q.table, wReq.sql), wReq.params),
      q.rows(sqliteShadowSql(q.table, wPair.sql), wPair.params),
      q.rows(sqliteQuantiles(q.table, wReq.sql, 'arm', [['ttft_ms', 0.5, 'ttft_p50_ms'], ['ttft_ms', 0.95, 'ttft_p95_ms'], ['latency_ms', 0.5, 'latency_p50_ms'], ['latency_ms', 0.95, 'latency_p95_ms']]), wReq.params),
      q.rows(
        sqliteQuantiles(q.table, pairWhere, 'pair_kind', [
          ['similarity', 0.5, 'similarity_p50'], ['ttft_ms', 0.5, 'primary_ttft_p50_ms'], ['cand_ttft_ms', 0.5, 'candidate_ttft_p50_ms'],
          ['latency_ms', 0.5, 'primary_latency_p50_ms'], ['cand_latency_ms', 0.5, 'candidate_latency_p50_ms'],
        ]),
        wPair.params,
      ),
    ]);
    armQ = new Map(aq.map((r) => [String(r.g), r]));
    pairQ = new Map(pq.map((r) => [String(r.g), r]));
  }
  const arms = armRows.map((r): ArmReport => {
    const qs = armQ.get(String(r.arm)) ?? r;
    const requests = num(r.requests);
    const errors = num(r.errors);
    return {
      arm: String(r.arm),
      requests,
      errors,
      error_rate: requests ? errors / requests : 0,
      ttft_p50_ms: numOrNull(qs.ttft_p50_ms),
      ttft_p95_ms: numOrNull(qs.ttft_p95_ms),
      latency_p50_ms: numOrNull(qs.latency_p50_ms),
      latency_p95_ms: numOrNull(qs.latency_p95_ms),
      prompt_tokens: num(r.prompt_tokens),
      completion_tokens: num(r.completion_tokens),
      cached_tokens: num(r.cached_tokens),
    };
  });
  const byKind = new Map(pairRows.map((r) => [String(r.pair_kind), r]));
  const statsOf = (kind: string) => {
    const r = byKind.get(kind);
    return r ? pairStats(r, q.dialect === 'sqlite' ? pairQ.get(kind) ?? {} : undefined) : null;
  };
  const shadow = statsOf('shadow');
  const noise = statsOf('noise');
  let noise_floor: ExperimentReport['noise_floor'] = null;
  if (shadow && noise && shadow.comparable && noise.comparable) {
    const sr = byKind.get('shadow')!;
    const nr = byKind.get('noise')!;
    noise_floor = {
      exact_match: diffyVerdict({ rawDiffs: num(sr.exact_mismatches), rawTotal: shadow.comparable, noiseDiffs: num(nr.exact_mismatches), noiseTotal: noise.comparable }),
      finish_reason: diffyVerdict({ rawDiffs: num(sr.finish_disagreements), rawTotal: shadow.comparable, noiseDiffs: num(nr.finish_disagreements), noiseTotal: noise.comparable }),
    };
  }
  return {
    tenant: tenantId,
    experiment: experimentName,
    since_ms: opts.sinceMs ?? null,
    arms,
    shadow,
    noise,
    noise_floor,
    similarity_measure: 'word-multiset-jaccard-v1',
  };
}
