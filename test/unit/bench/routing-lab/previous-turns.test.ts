import { describe, expect, it } from 'vitest';
import { previousTurns } from '../../../../bench/routing-lab/previous-turns.ts';
import type { TraceRecord } from '../../../../bench/routing-lab/trace.ts';

const rec = (timestamp: number, input_length: number, hash_ids: number[]): TraceRecord => ({ timestamp, input_length, output_length: 8, hash_ids });

describe('previousTurns: which earlier request a request continues', () => {
  it('links each turn to the latest earlier request whose whole prompt it extends', () => {
    const records = [
      rec(0, 600, [1, 2]), // session A, turn 1
      rec(10, 700, [1, 3]), // session B (same tools block), turn 1
      rec(20, 900, [1, 2]), // A, turn 2: same blocks, longer prompt
      rec(30, 1100, [1, 2, 4]), // A, turn 3: one block more
      rec(40, 800, [1, 3]), // B, turn 2
    ];
    expect([...previousTurns(records)]).toEqual([-1, -1, 0, 2, 1]);
  });

  it('a shared prefix alone is no previous turn, nor is an identical request', () => {
    const records = [rec(0, 600, [1, 2]), rec(5, 600, [1, 2]), rec(10, 700, [1, 3]), rec(20, 400, [1])];
    expect([...previousTurns(records)]).toEqual([-1, -1, -1, -1]);
  });
});
