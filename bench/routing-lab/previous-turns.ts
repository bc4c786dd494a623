// Which earlier request a trace request continues: the latest earlier request whose whole prompt it extends (its
// hash ids start with all of that request's ids and its prompt is longer), as an agent's step extends its
// previous step. A replay that waits for that request's response before sending the next keeps a conversation's
// turns in order, as a client does: it cannot send a turn before it has the answer to the previous one.
import { combine32 } from '../../src/util/hash.ts';
import type { TraceRecord } from './trace.ts';

/** Per request, the index of the request it continues, or -1 (a first turn, or a prompt no earlier one is whole part of). */
export function previousTurns(records: readonly Pick<TraceRecord, 'hash_ids' | 'input_length'>[]): Int32Array {
  const out = new Int32Array(records.length).fill(-1);
  /** Chained hash of a request's whole id list -> the latest request with exactly those ids. */
  const latest = new Map<number, number>();
  records.forEach((r, i) => {
    let h = 0;
    const prefixes = new Array<number>(r.hash_ids.length);
    for (let k = 0; k < r.hash_ids.length; k++) prefixes[k] = h = combine32(h, r.hash_ids[k]! >>> 0);
    for (let k = prefixes.length - 1; k >= 0 && out[i] === -1; k--) {
      const j = latest.get(prefixes[k]!);
      if (j !== undefined && records[j]!.hash_ids.length === k + 1 && records[j]!.input_length < r.input_length) out[i] = j;
    }
    latest.set(h, i);
  });
  return out;
}
