// How a request's failure is classified in analytics events and shadow pairs: one mapping for both.
import type { ErrorClass } from '../analytics/event.ts';
import type { StreamOutcome } from '../stream/relay.ts';

const OUTCOME_CLASS: Partial<Record<StreamOutcome, ErrorClass>> = {
  upstream_error: 'reset',
  idle_timeout: 'timeout',
  truncated: 'truncated',
  client_abort: 'aborted',
};

/** A relayed stream that ended badly; '' when it completed. */
export function outcomeErrorClass(outcome: string): ErrorClass {
  return OUTCOME_CLASS[outcome as StreamOutcome] ?? '';
}

/** The router answered with an error status itself (no backend response was relayed). */
export function routerErrorClass(status: number): ErrorClass {
  if (status === 504) return 'timeout';
  if (status === 503) return 'no_backend';
  if (status === 499) return 'aborted';
  if (status === 502) return 'connect';
  return status >= 500 ? 'upstream_5xx' : 'upstream_4xx';
}
