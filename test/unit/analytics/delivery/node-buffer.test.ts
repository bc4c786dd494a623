import { describe, it, expect, afterEach } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalyticsEvent } from '../../../../src/analytics/event.ts';
import type { DeadLetter } from '../../../../src/analytics/dead-letter.ts';
import { DataRejectedError, type AnalyticsSink } from '../../../../src/analytics/sink.ts';
import { NodeEventBuffer } from '../../../../src/analytics/delivery/node-buffer.ts';
import { DEAD_LETTER_FILE } from '../../../../src/analytics/delivery/spool.ts';
import { keptEvent } from '../../../helpers/dead-letters.ts';
import { pollUntil } from '../../../helpers/poll.ts';
import { requestEvent } from '../fixtures.ts';

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

/** Rejects (as bad data) every batch that contains one of the poisoned event ids, like a store with a type error. */
class PickySink implements AnalyticsSink {
  readonly name = 'picky';
  readonly stored = new Map<string, AnalyticsEvent>();
  readonly deadLetters: DeadLetter[] = [];
  writes = 0;
  constructor(private readonly poison: Set<string>) {}
  async write(events: readonly AnalyticsEvent[]) {
    this.writes++;
    const bad = events.find((e) => this.poison.has(e.event_id));
    if (bad) throw new DataRejectedError(`picky rejected the data: bad value in event ${bad.event_id}`);
    for (const e of events) this.stored.set(e.event_id, e);
  }
  async writeDeadLetters(letters: readonly DeadLetter[]) {
    this.deadLetters.push(...letters);
  }
}

const deadLetterLines = (dir: string) => {
  const f = join(dir, DEAD_LETTER_FILE);
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DeadLetter) : [];
};

/** Events on disk in the spool (sealed and open segments), by id. */
const spooledIds = (dir: string) =>
  new Set(readdirSync(dir).filter((n) => /^\d+-\d+\.ndjson(\.tmp)?$/.test(n)).flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as AnalyticsEvent).event_id)));

/** Waits (bounded) for `cond`; fails the test with `what` if it never holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  expect(await pollUntil(cond, Boolean, 5_000, 5), what).toBe(true);
}

describe('NodeEventBuffer: data the store rejects', () => {
  it('splits the batch: every other event is stored, each poisoned one is dead-lettered with the reason', async () => {
    const all = events(300);
    const poison = new Set([all[7]!.event_id, all[150]!.event_id]);
    const sink = new PickySink(poison);
    const dir = tempDir();
    const buf = new NodeEventBuffer({ sink, spoolDir: dir, batchSize: 100, lingerMs: 5, retryBaseMs: 5 }).start();
    buf.enqueue(all);
    expect(await buf.drain(5_000)).toBe(true);
    expect(sink.stored.size).toBe(298);
    for (const id of poison) expect(sink.stored.has(id)).toBe(false);
    const letters = deadLetterLines(dir);
    expect(new Set(letters.map((l) => l.event_id))).toEqual(poison);
    expect(letters[0]?.reason).toMatch(/picky rejected the data: bad value/);
    expect(keptEvent(letters[0]!.raw).event_id).toBe(letters[0]!.event_id);
    expect(sink.deadLetters.map((l) => l.event_id).sort()).toEqual([...poison].sort());
    expect(buf.stats()).toMatchObject({ delivered: 298, deadLetters: 2 });
    await buf.close();
  });

  it('replays a segment left with invalid and unparseable lines: the valid events arrive, the rest is dead-lettered', async () => {
    const dir = tempDir();
    const good = events(20);
    const poisoned = { ...requestEvent(), prompt_tokens: -5 }; // what an older router could spool
    const lines = [JSON.stringify(poisoned), ...good.map((e) => JSON.stringify(e)), '{"type":"request","event_id":"x'];
    writeFileSync(join(dir, '000001700000000-00000000.ndjson'), lines.join('\n') + '\n');
    const sink = new PickySink(new Set());
    const buf = new NodeEventBuffer({ sink, spoolDir: dir, lingerMs: 5 }).start();
    expect(await buf.drain(5_000)).toBe(true);
    expect(new Set(sink.stored.keys())).toEqual(new Set(good.map((e) => e.event_id)));
    const letters = deadLetterLines(dir);
    expect(letters).toHaveLength(2);
    expect(letters.find((l) => l.event_id === poisoned.event_id)?.reason).toMatch(/not a valid event: prompt_tokens/);
    expect(letters.find((l) => l.event_id.startsWith('raw:'))?.raw).toBe('{"type":"request","event_id":"x');
    expect(readdirSync(dir)).toEqual([DEAD_LETTER_FILE]); // the replayed segment is gone
    await buf.close();
  });

  it('keeps retrying (does not dead-letter) while the store is merely unavailable', async () => {
    const sink = new FlakySink();
    sink.up = false;
    const dir = tempDir();
    const buf = new NodeEventBuffer({ sink, spoolDir: dir, lingerMs: 1, retryBaseMs: 1, retryMaxMs: 5 }).start();
    buf.enqueue(events(10));
    await until(() => sink.writes >= 5, 'several failed writes');
    expect(buf.stats().deadLetters).toBe(0);
    sink.up = true;
    expect(await buf.drain(5_000)).toBe(true);
    expect(sink.stored.size).toBe(10);
    expect(deadLetterLines(dir)).toEqual([]);
    await buf.close();
  });
});

describe('NodeEventBuffer: spilling while the store fails', () => {
  it('puts every event on disk while the store is down, although memory is far from full; a crash then loses none', async () => {
    const sink = new FlakySink();
    sink.up = false;
    const dir = tempDir();
    const buf = new NodeEventBuffer({ sink, spoolDir: dir, maxBuffered: 10_000, batchSize: 50, lingerMs: 1, retryBaseMs: 50, retryMaxMs: 50, spillIntervalMs: 20 }).start();
    const sent: AnalyticsEvent[] = [];
    for (let i = 0; i < 6; i++) {
      const batch = events(7);
      sent.push(...batch);
      buf.enqueue(batch);
      await new Promise((r) => setTimeout(r, 3));
    }
    const ids = sent.map((e) => e.event_id);
    await until(() => ids.every((id) => spooledIds(dir).has(id)), 'every event in the spool');
    // ... and sealed (fsync'd) within the spill interval, not only appended.
    await until(() => readdirSync(dir).every((n) => n.endsWith('.ndjson')) && ids.every((id) => spooledIds(dir).has(id)), 'open segment sealed');
    expect(buf.stats()).toMatchObject({ storeFailing: true, buffered: 0 });

    // kill -9 now: what a new process finds is the directory as it is.
    const crashed = tempDir();
    cpSync(dir, crashed, { recursive: true });
    const after = new FlakySink();
    const next = new NodeEventBuffer({ sink: after, spoolDir: crashed, lingerMs: 1 }).start();
    expect(await next.drain(5_000)).toBe(true);
    expect(new Set(after.stored.keys())).toEqual(new Set(ids));
    await next.close();

    // The first buffer, store back: delivers everything and empties its spool.
    sink.up = true;
    buf.retrySoon();
    expect(await buf.drain(5_000)).toBe(true);
    expect(new Set(sink.stored.keys())).toEqual(new Set(ids));
    expect(buf.stats().storeFailing).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    await buf.close();
  });

  it('keeps spool segments small, so that a replay reads a bounded number of events at once', async () => {
    const sink = new FlakySink();
    sink.up = false;
    const dir = tempDir();
    const buf = new NodeEventBuffer({ sink, spoolDir: dir, maxBuffered: 1_000, segmentEvents: 100, batchSize: 50, lingerMs: 1, retryBaseMs: 50, retryMaxMs: 50, spillIntervalMs: 5_000 }).start();
    const all = events(1_650);
    buf.enqueue(all.slice(0, 900)); // to memory, then
    buf.enqueue(all.slice(900, 1_200)); // over maxBuffered: memory spills as segments
    await until(() => buf.stats().storeFailing, 'store failing');
    for (let i = 1_200; i < all.length; i += 50) buf.enqueue(all.slice(i, i + 50)); // appended to the open segment
    await until(() => {
      const ids = spooledIds(dir);
      return all.every((e) => ids.has(e.event_id));
    }, 'every event in the spool');
    for (const name of readdirSync(dir)) {
      expect(readFileSync(join(dir, name), 'utf8').trim().split('\n').length, name).toBeLessThanOrEqual(100);
    }
    sink.up = true;
    buf.retrySoon();
    expect(await buf.drain(5_000)).toBe(true);
    expect(new Set(sink.stored.keys())).toEqual(new Set(all.map((e) => e.event_id)));
    await buf.close();
  });

  it('treats a write that hangs as a failing store and spills', async () => {
    const hanging: AnalyticsSink = { name: 'hung', write: () => new Promise<void>(() => {}) };
    const dir = tempDir();
    const buf = new NodeEventBuffer({ sink: hanging, spoolDir: dir, lingerMs: 1, spillIntervalMs: 20 }).start();
    const all = events(5);
    buf.enqueue(all);
    await until(() => all.every((e) => spooledIds(dir).has(e.event_id)), 'the hanging batch in the spool');
    expect(buf.stats().storeFailing).toBe(true);
    await buf.close(10);
  });
});
