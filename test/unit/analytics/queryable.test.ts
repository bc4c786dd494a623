// How the ClickHouse queryable binds values (src/analytics/queryable.ts): as query parameters on a server that takes
// them, inlined with ClickHouse's escaping only on a server without them (18.16, which the e2e tests run against).
import { describe, expect, it } from 'vitest';
import { clickhouseQueryable, Conditions } from '../../../src/analytics/queryable.ts';
import { TRICKY } from './fixtures.ts';

/** A client that records what it was sent; `params` says whether it takes query parameters. */
function recordingClient(params: boolean) {
  const sent: { query: string; query_params?: Record<string, unknown> }[] = [];
  return {
    sent,
    async query(p: { query: string; format: 'JSONEachRow'; query_params?: Record<string, unknown> }) {
      sent.push({ query: p.query, ...(p.query_params ? { query_params: p.query_params } : {}) });
      if (p.query_params && !params) throw new Error('Code: 115, e.displayText() = DB::Exception: Unknown setting param_probe');
      return { json: async <T>() => [] as T[] };
    },
  };
}

describe('ClickHouse queryable', () => {
  it('sends values as query_params with {name:Type} placeholders when the server takes them', async () => {
    const client = recordingClient(true);
    const w = new Conditions('clickhouse').equals('tenant', TRICKY.tenant).atLeast('ts_ms', 12.7);
    await clickhouseQueryable(client).rows(`SELECT 1 FROM t WHERE ${w.sql}`, w.params);
    const last = client.sent.at(-1)!;
    expect(last.query).toBe('SELECT 1 FROM t WHERE tenant = {p0:String} AND ts_ms >= {p1:Int64}');
    expect(last.query_params).toEqual({ p0: TRICKY.tenant, p1: 12 });
  });

  it('inlines escaped literals only on a server without query parameters, asking it once', async () => {
    const client = recordingClient(false);
    const q = clickhouseQueryable(client);
    const w = new Conditions('clickhouse').equals('tenant', `a'b\\c\0d`);
    await q.rows(`SELECT 1 FROM t WHERE ${w.sql}`, w.params);
    await q.rows(`SELECT 2 FROM t WHERE ${w.sql}`, w.params);
    expect(client.sent.filter((s) => s.query.includes('probe'))).toHaveLength(1);
    expect(client.sent.at(-1)).toEqual({ query: `SELECT 2 FROM t WHERE tenant = 'a\\'b\\\\c\\0d'` });
  });

  it('SQLite conditions use ? in the order of their parameters', () => {
    const w = new Conditions('sqlite').fixed("type = 'request'").equals('tenant', 'a').atLeast('ts_ms', 5);
    expect(w.sql).toBe("type = 'request' AND tenant = ? AND ts_ms >= ?");
    expect(Object.values(w.params)).toEqual(['a', 5]);
  });
});
