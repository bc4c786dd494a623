import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { promotedShare } from '../../../../bench/overhead/gc-log.ts';

/**
 * A real V8 trace: a Node process that allocates 100,000 objects of 40 fields, keeping every `keepEvery`-th.
 * Pretenuring off, or V8 would soon allocate the kept objects in the old generation directly (never promoted).
 */
function traceOf(keepEvery: number): string {
  const script = `const keys = Array.from({ length: 40 }, (_, k) => 'f' + k); const kept = []; for (let i = 0; i < 100000; i++) { const o = {}; for (const k of keys) o[k] = i; if (i % ${keepEvery} === 0) kept.push(o); } console.log(kept.length);`;
  const r = spawnSync(process.execPath, ['--trace-gc-nvp', '--max-semi-space-size=1', '--no-allocation-site-pretenuring', '-e', script], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  expect(r.status).toBe(0);
  return r.stdout;
}

describe('promoted share from a --trace-gc-nvp log', () => {
  it('is small for garbage that dies young and large for objects that are kept', () => {
    const dying = promotedShare(traceOf(1_000_000));
    const kept = promotedShare(traceOf(1));
    expect(dying.collections).toBeGreaterThan(3);
    expect(kept.collections).toBeGreaterThan(3);
    // Kept objects are mostly promoted (about half of the bytes), though V8 sometimes moves whole pages instead,
    // which it does not count: only the order of magnitude is asserted.
    expect(dying.promoted / dying.allocated).toBeLessThan(0.005);
    expect(kept.promoted / kept.allocated).toBeGreaterThan(0.02);
  });

  it('counts only young collections, after the first third', () => {
    const line = (kind: string, alloc: number, prom: number) => `[1:0x1] 10 ms: pause=1 gc=${kind} allocated=${alloc} promoted=${prom} x=1`;
    const log = [line('s', 1000, 900), line('mc', 5000, 5000), line('s', 100, 1), line('s', 100, 2)].join('\n');
    expect(promotedShare(log)).toEqual({ collections: 3, allocated: 200, promoted: 3 });
  });
});
