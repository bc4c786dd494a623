// What happens after the response, in waitUntil: the request event goes to the analytics path, the request's
// features go to the drift sketches, and its cache receipt is counted and told to its routing policy. One function
// for both runtimes; each supplies its emit, its recorder and its backend states.
import type { AnalyticsEvent } from '../analytics/event.ts';
import type { DriftRecorder } from '../drift/recorder.ts';
import { driftObservationOf } from '../drift/from-record.ts';
import type { BackendStates } from '../upstream/backend-state.ts';
import type { RequestRecord } from './inference.ts';
import { settleReceipt } from './receipts.ts';
import { requestEventOf, responseFactsOf } from './request-event.ts';

export interface AfterResponseDeps {
  emit?: (events: AnalyticsEvent[]) => void | Promise<void>;
  drift?: DriftRecorder;
  /** Monotonic clock of the records (performance.now). */
  now: () => number;
  /** Where each backend's receipts are counted (GET /metrics). */
  states?: BackendStates;
}

/** Handles one record; returns a promise only when there is I/O to wait for (a queue send, a drift flush). */
export function afterResponse(deps: AfterResponseDeps): (rec: RequestRecord) => Promise<unknown> | undefined {
  return (rec) => {
    let work: Promise<unknown>[] | undefined;
    // Read once: the event, the drift sketch and the cache receipt share what the response stated.
    const facts = responseFactsOf(rec);
    if (deps.emit) {
      const sent = deps.emit([requestEventOf(rec, Date.now(), deps.now(), facts)]);
      if (sent) (work ??= []).push(sent);
    }
    if (deps.drift && !rec.error && rec.drift.enabled) {
      const flushed = deps.drift.observe(driftObservationOf(rec, rec.drift, rec.arm, facts));
      if (flushed) (work ??= []).push(flushed);
    }
    settleReceipt(rec, facts.receipt ?? null, deps.states);
    return work ? Promise.allSettled(work) : undefined;
  };
}

/**
 * Node: records are queued and handled together on the next turn of the event loop, so the request path only
 * pushes to an array (no promise per request). Bounded: past `max` queued records they are handled at once, and
 * also while `urgent()` says so (the analytics store is failing: the event then reaches the on-disk spool before
 * the response ends, so a process killed right after answering loses nothing).
 */
export function batched(handle: (rec: RequestRecord) => Promise<unknown> | undefined, defer: (p: Promise<unknown>) => void, max = 1024, urgent?: () => boolean) {
  let queue: RequestRecord[] = [];
  let scheduled = false;
  const drain = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    for (const rec of batch) {
      try {
        const p = handle(rec);
        if (p) defer(p);
      } catch (err) {
        console.error('kvroute: after-response work failed', err);
      }
    }
  };
  return (rec: RequestRecord): void => {
    queue.push(rec);
    if (queue.length >= max || urgent?.()) drain();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(drain);
    }
  };
}
