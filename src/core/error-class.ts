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

/** Error codes of the router's own answers (src/api/errors.ts) that say what failed upstream. */
const CODE_CLASS: Partial<Record<string, ErrorClass>> = {
  upstream_connect_failed: 'connect',
  upstream_timeout: 'timeout',
  upstream_error: 'reset',
  upstream_status_error: 'upstream_5xx',
  upstream_rate_limited: 'rate_limited',
  no_backend_available: 'no_backend',
  client_closed: 'aborted',
};

/** The router answered with an error itself (no backend response was relayed): classed by its error code. */
export function routerErrorClass(status: number, code: string | null): ErrorClass {
  const cls = code ? CODE_CLASS[code] : undefined;
  if (cls) return cls;
  return status >= 500 ? 'internal' : 'invalid_request';
}
