import { describe, expect, it } from 'vitest';
import { timeOrderedId } from '../../../src/util/ids.ts';

describe('timeOrderedId', () => {
  it('is a version 7 UUID with the millisecond first, so later ids sort after earlier ones', () => {
    const times = [0, 1, 1_700_000_000_000, 1_700_000_000_001, 1_700_003_600_000, 2 ** 48 - 1];
    const ids = times.flatMap((t) => [timeOrderedId(t), timeOrderedId(t)]);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(timeOrderedId(1_700_000_000_000).slice(0, 13)).toBe('018bcfe5-6800');
    for (let i = 2; i < ids.length; i++) expect(ids[i - 2]! < ids[i]!).toBe(true);
  });

  it('keeps 74 random bits: no two ids of one millisecond are alike', () => {
    expect(new Set(Array.from({ length: 20_000 }, () => timeOrderedId(1_700_000_000_000))).size).toBe(20_000);
  });
});
