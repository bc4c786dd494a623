import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { createNodeAnalytics } from '../../../src/runtimes/node-analytics.ts';
import { experimentReport } from '../../../src/experiments/report.ts';
import { experimentRoutes } from '../../../routes/experiments.ts';
import { armEvents, requestEvent } from '../analytics/fixtures.ts';
import { pollUntil } from '../../helpers/poll.ts';
import { errorOf } from '../../helpers/responses.ts';

/** A port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

describe('createNodeAnalytics (SQLite default)', () => {
  it('emits through the buffer into SQLite, reports, and closes cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvr-node-'));
    const a = await createNodeAnalytics({ sqlitePath: join(dir, 'a.db'), spoolDir: join(dir, 'spool'), buffer: { lingerMs: 5 } });
    expect(a.sink.name).toBe('sqlite');
    expect(a.ready()).toBe(true);
    a.emit(armEvents('t', 'e', { control: [1, 2, 3] }));
    expect(await a.buffer.drain(5000)).toBe(true);
    const r = await experimentReport(a.queryable, 't', 'e');
    expect(r.arms[0]).toMatchObject({ arm: 'control', requests: 3, ttft_p50_ms: 2 });
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('createNodeAnalytics with ClickHouse unreachable', () => {
  it('returns anyway; events wait in the spool, and the report answers 503 with an OpenAI-style error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvr-node-'));
    const url = `http://127.0.0.1:${await closedPort()}`;
    const a = await createNodeAnalytics({
      sqlitePath: join(dir, 'a.db'),
      spoolDir: join(dir, 'spool'),
      clickhouse: { url, database: 'kvr_unit', requestTimeoutMs: 1_000 },
      migrateRetry: { baseMs: 10, maxMs: 50 },
      buffer: { lingerMs: 1, retryBaseMs: 10, retryMaxMs: 50, spillIntervalMs: 20, onError: () => {} },
    });
    try {
      expect(a.ready()).toBe(false);
      a.emit([requestEvent(), requestEvent()]);
      expect(await pollUntil(() => a.buffer.stats(), (st) => st.storeFailing && st.buffered === 0, 5_000)).toMatchObject({ storeFailing: true, buffered: 0 });
      const app = new Hono();
      app.route('/admin/tenants/:id/experiments', experimentRoutes({ queryable: () => a.queryable }));
      const res = await app.request('/admin/tenants/acme/experiments/exp1/report');
      expect(res.status).toBe(503);
      const error = await errorOf(res);
      expect(error).toMatchObject({ type: 'server_error', code: 'analytics_unavailable', param: null });
      expect(error.message).toMatch(/not ready: ClickHouse could not be migrated yet/);
    } finally {
      await a.close(10);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
