// The cache report: how much of the prompt the engines served from their prefix caches, as their own responses
// stated it (cache receipts, carried by the request events' prompt_tokens and cached_tokens), per tenant, per
// backend and per routing policy (read from the decision each event records). Same numbers from ClickHouse and
// SQLite / D1. Requests the router answered with an error, and error answers of backends, are left out.
import { Conditions, num, rate, type Dialect, type Queryable, type QueryParams } from './queryable.ts';

export interface CacheReportFilter {
  /** One tenant's requests; all tenants when absent. */
  tenant?: string;
  /** Only events at or after this time (ms since the epoch). */
  sinceMs?: number;
}

export interface HitRate {
  requests: number;
  prompt_tokens: number;
  cached_tokens: number;
  /** cached_tokens / prompt_tokens; null without prompt tokens. */
  hit_rate: number | null;
}

export interface CacheReport {
  tenant: string | null;
  since_ms: number | null;
  tenants: (HitRate & { tenant: string })[];
  /** Backend ids are a tenant's own names, so a backend is its tenant, pool and id. */
  backends: (HitRate & { tenant: string; pool: string; backend: string })[];
  policies: (HitRate & { policy: string })[];
}

/** The policy name out of the recorded decision (`pool=..;backend=..;policy=NAME;reason=..`), '' when absent. */
function policyExpr(dialect: Dialect): string {
  if (dialect === 'clickhouse') return `extract(decision, ';policy=([^;]*)')`;
  const rest = `substr(decision, instr(decision, ';policy=') + 8)`;
  return `CASE WHEN instr(decision, ';policy=') > 0 THEN substr(${rest}, 1, instr(${rest} || ';', ';') - 1) ELSE '' END`;
}

/** The answered requests the report counts; the filter's values bound as query parameters. */
function whereOf(q: Queryable, f: CacheReportFilter): Conditions {
  const w = new Conditions(q.dialect).fixed(`type = 'request' AND error_class = '' AND status < 400 AND backend != ''`);
  if (f.tenant !== undefined) w.equals('tenant', f.tenant);
  if (f.sinceMs !== undefined) w.atLeast('ts_ms', f.sinceMs);
  return w;
}

/** SELECT of the sums per group (`keys` are [expression, alias] pairs), and its parameters. */
export function cacheReportSql(q: Queryable, keys: [string, string][], f: CacheReportFilter): { sql: string; params: QueryParams } {
  const cols = keys.map(([e, a]) => `${e} AS ${a}`).join(', ');
  const aliases = keys.map(([, a]) => a).join(', ');
  const count = q.dialect === 'clickhouse' ? 'count()' : 'COUNT(*)';
  const where = whereOf(q, f);
  const sql = `SELECT ${cols}, ${count} AS requests, SUM(prompt_tokens) AS prompt_tokens, SUM(cached_tokens) AS cached_tokens
FROM ${q.table}${q.dialect === 'clickhouse' ? ' FINAL' : ''}
WHERE ${where.sql}
GROUP BY ${aliases}
ORDER BY ${aliases}`;
  return { sql, params: where.params };
}

function hitRate(r: Record<string, unknown>): HitRate {
  const prompt = num(r.prompt_tokens);
  const cached = num(r.cached_tokens);
  return { requests: num(r.requests), prompt_tokens: prompt, cached_tokens: cached, hit_rate: rate(cached, prompt) };
}

export async function cacheReport(q: Queryable, f: CacheReportFilter = {}): Promise<CacheReport> {
  const run = (keys: [string, string][]) => {
    const { sql, params } = cacheReportSql(q, keys, f);
    return q.rows(sql, params);
  };
  const [tenants, backends, policies] = await Promise.all([
    run([['tenant', 'tenant']]),
    run([['tenant', 'tenant'], ['pool', 'pool'], ['backend', 'backend']]),
    run([[policyExpr(q.dialect), 'policy']]),
  ]);
  return {
    tenant: f.tenant ?? null,
    since_ms: f.sinceMs ?? null,
    tenants: tenants.map((r) => ({ tenant: String(r.tenant), ...hitRate(r) })),
    backends: backends.map((r) => ({ tenant: String(r.tenant), pool: String(r.pool), backend: String(r.backend), ...hitRate(r) })),
    policies: policies.map((r) => ({ policy: String(r.policy), ...hitRate(r) })),
  };
}
