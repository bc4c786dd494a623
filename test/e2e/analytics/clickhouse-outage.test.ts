// ClickHouse stopped in the middle of a load and started again: through the node buffer (retries + spool),
// every event arrives exactly once. Always uses a private server, since the test stops and restarts it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENTS_TABLE, migrateClickHouse } from '../../../src/analytics/migrations.ts';
import { ClickHouseSink, createClickHouseClient } from '../../../src/analytics/sinks/clickhouse.ts';
import { NodeEventBuffer } from '../../../src/analytics/delivery/node-buffer.ts';
import { requestEvent } from '../../unit/analytics/fixtures.ts';
import { startPrivateClickHouse, type PrivateClickHouse } from './clickhouse-server.ts';

let ch: PrivateClickHouse;
let spool: string;
beforeAll(async () => {
  ch = await startPrivateClickHouse();
  spool = mkdtempSync(join(tmpdir(), 'kvr-outage-spool-'));
});
afterAll(() => {
  ch?.dispose();
  if (spool) rmSync(spool, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('every event arrives once although ClickHouse was down for part of the load', async () => {
  const client = createClickHouseClient({ url: ch.url, requestTimeoutMs: 3000 });
  await migrateClickHouse(client, 'default');
  const errors: string[] = [];
  const buf = new NodeEventBuffer({
    sink: new ClickHouseSink(client),
    spoolDir: spool,
    maxBuffered: 300, // small, so the outage overflows memory into the spool
    batchSize: 100,
    lingerMs: 10,
    retryBaseMs: 20,
    retryMaxMs: 300,
    onError: (err) => errors.push(String(err)),
  }).start();

  const TOTAL = 4000;
  const ids: string[] = [];
  for (let i = 0; i < TOTAL; i += 20) {
    if (i === 1200) ch.stop(); // mid-load: the server goes away (SIGTERM, waits for exit)
    if (i === 2800) ch.start(); // ... and comes back with its data directory intact
    const batch = Array.from({ length: 20 }, (_, j) => requestEvent({ tenant: 'outage', request_id: `r${i + j}` }));
    ids.push(...batch.map((e) => e.event_id));
    buf.enqueue(batch);
    await sleep(2);
  }
  expect(await buf.drain(60_000)).toBe(true);
  const stats = buf.stats();
  await buf.close();

  const q = async (sql: string) => Number(Object.values((await (await client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>())[0] ?? {})[0]);
  const exact = await q(`SELECT count() FROM default.${EVENTS_TABLE} FINAL WHERE tenant = 'outage'`);
  const distinct = await q(`SELECT uniqExact(event_id) FROM default.${EVENTS_TABLE} WHERE tenant = 'outage'`);
  const raw = await q(`SELECT count() FROM default.${EVENTS_TABLE} WHERE tenant = 'outage'`);
  console.log(`outage: ${TOTAL} events, stored once each: ${exact}; raw rows before merge: ${raw}; failed writes: ${stats.failedWrites}; spilled to disk: ${stats.spilledEvents}`);
  await client.close();

  expect(stats.failedWrites).toBeGreaterThan(0); // the outage really happened
  expect(stats.spilledEvents).toBeGreaterThan(0); // and overflowed memory into the spool
  expect(distinct).toBe(TOTAL);
  expect(exact).toBe(TOTAL);
  expect(new Set(ids).size).toBe(TOTAL);
});
