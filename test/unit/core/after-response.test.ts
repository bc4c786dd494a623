// The Node hand-off of finished requests to after-response work: batched on the next turn normally, at once while
// `urgent()` says so (the analytics store is failing, so the event must reach the spool before the response ends).
import { describe, expect, it } from 'vitest';
import { batched } from '../../../src/core/after-response.ts';
import type { RequestRecord } from '../../../src/core/inference.ts';

const rec = (id: string) => ({ requestId: id }) as RequestRecord;

describe('batched', () => {
  it('hands records over on the next turn, not synchronously', async () => {
    const seen: string[] = [];
    const onRecord = batched((r) => void seen.push(r.requestId), () => {});
    onRecord(rec('a'));
    expect(seen).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['a']);
  });

  it('hands them over at once while urgent', () => {
    const seen: string[] = [];
    let urgent = true;
    const onRecord = batched((r) => void seen.push(r.requestId), () => {}, 1024, () => urgent);
    onRecord(rec('a'));
    expect(seen).toEqual(['a']);
    urgent = false;
    onRecord(rec('b'));
    expect(seen).toEqual(['a']);
  });
});
