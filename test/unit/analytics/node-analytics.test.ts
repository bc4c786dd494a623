import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeAnalytics } from '../../../src/analytics/node-analytics.ts';
import { experimentReport } from '../../../src/analytics/report.ts';
import { armEvents } from './fixtures.ts';

describe('createNodeAnalytics (SQLite default)', () => {
  it('emits through the buffer into SQLite, reports, and closes cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvr-node-'));
    const a = await createNodeAnalytics({ sqlitePath: join(dir, 'a.db'), spoolDir: join(dir, 'spool'), buffer: { lingerMs: 5 } });
    expect(a.sink.name).toBe('sqlite');
    a.emit(armEvents('t', 'e', { control: [1, 2, 3] }));
    expect(await a.buffer.drain(5000)).toBe(true);
    const r = await experimentReport(a.queryable, 't', 'e');
    expect(r.arms[0]).toMatchObject({ arm: 'control', requests: 3, ttft_p50_ms: 2 });
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
