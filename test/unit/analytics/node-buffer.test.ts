import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalyticsEvent } from '../../../src/analytics/event.ts';
import type { AnalyticsSink } from '../../../src/analytics/sink.ts';
import { NodeEventBuffer } from '../../../src/analytics/delivery/node-buffer.ts';
import { requestEvent } from './fixtures.ts';

/** A sink that stores by event id (idempotent, like the real ones) and can be switched down. */
class FlakySink implements AnalyticsSink {
  readonly name = 'flaky';
  up = true;
  writes = 0;
  readonly stored = new Map<string, AnalyticsEvent>();
  async write(events: readonly AnalyticsEvent[]) {
    this.writes++;
    if (!this.up) throw new Error('sink down');
    for (const e of events) this.stored.set(e.event_id, e);
  }
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'kvroute-spool-'));
  dirs.push(d);
  return d;
};
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

const events = (n: number) => Array.from({ length: n }, () => requestEvent());

describe('NodeEventBuffer', () => {
  it('delivers in batches, lingering for partial batches', async () => {
    const sink = new FlakySink();
    const buf = new NodeEventBuffer({ sink, spoolDir: tempDir(), batchSize: 100, lingerMs: 20 }).start();
    const all = events(250);
    buf.enqueue(all);
    expect(await buf.drain(5000)).toBe(true);
    expect(sink.stored.size).toBe(250);
    expect(sink.writes).toBe(3);
    buf.enqueue(events(1)); // a lone event after idle still goes out
    expect(await buf.drain(5000)).toBe(true);
    expect(sink.stored.size).toBe(251);
    await buf.close();
  });

  it('retries while the sink is down, spills to disk when memory is full, and loses nothing', async () => {
    const sink = new FlakySink();
    const dir = tempDir();
    sink.up = false;
    const buf = new NodeEventBuffer({ sink, spoolDir: dir, maxBuffered: 50, batchSize: 20, lingerMs: 5, retryBaseMs: 5, retryMaxMs: 20 }).start();
    const all = events(500);
    for (let i = 0; i < all.length; i += 10) buf.enqueue(all.slice(i, i + 10));
    await new Promise((r) => setTimeout(r, 50));
    const st = buf.stats();
    expect(st.spilledEvents).toBeGreaterThan(0);
    expect(st.spooledSegments).toBeGreaterThan(0);
    expect(st.failedWrites).toBeGreaterThan(0);
    expect(readdirSync(dir).length).toBe(st.spooledSegments);
    sink.up = true;
    expect(await buf.drain(10_000)).toBe(true);
    expect(new Set(all.map((e) => e.event_id))).toEqual(new Set(sink.stored.keys()));
    expect(readdirSync(dir)).toEqual([]); // delivered segments are deleted
    await buf.close();
  });

  it('close() spools what it could not deliver; a new buffer replays it at start', async () => {
    const dir = tempDir();
    const down = new FlakySink();
    down.up = false;
    const first = new NodeEventBuffer({ sink: down, spoolDir: dir, batchSize: 100, lingerMs: 5, retryBaseMs: 5 }).start();
    const all = events(1200);
    first.enqueue(all);
    await first.close(100);
    expect(readdirSync(dir).filter((n) => n.endsWith('.ndjson')).length).toBeGreaterThan(0);
    first.enqueue(events(0));
    const late = events(5);
    first.enqueue(late); // after close: straight to disk
    const sink = new FlakySink();
    const second = new NodeEventBuffer({ sink, spoolDir: dir, batchSize: 100 }).start();
    expect(await second.drain(10_000)).toBe(true);
    expect(sink.stored.size).toBe(1205);
    for (const e of [...all, ...late]) expect(sink.stored.has(e.event_id)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    await second.close();
  });

  it('drain() reports false when the sink stays down', async () => {
    const sink = new FlakySink();
    sink.up = false;
    const buf = new NodeEventBuffer({ sink, spoolDir: tempDir(), lingerMs: 1, retryBaseMs: 5 }).start();
    buf.enqueue(events(3));
    expect(await buf.drain(100)).toBe(false);
    await buf.close(10);
  });
});
