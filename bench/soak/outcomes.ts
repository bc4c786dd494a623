// What each client saw, in classes that say whose fault it was: the backend's failures the router reported
// properly (upstream_*), the client's own departures, and what would be kvroute's own defect (a 5xx the router
// made up, an answer that is not OpenAI JSON, a stream cut without an error event, a broken connection).
import type { Seen } from '../../test/e2e/faults/harness.ts';

/** Error codes that mean "the backends failed and the router said so" (src/api/errors.ts, src/stream/relay.ts). */
const UPSTREAM_CODES = new Set([
  'no_backend_available', 'upstream_error', 'upstream_timeout', 'upstream_connect_failed', 'upstream_status_error',
  'upstream_rate_limited', 'upstream_stream_error', 'upstream_stream_timeout', 'upstream_stream_truncated',
]);

export type Verdict = 'ok' | 'aborted' | 'upstream' | 'client' | 'defect';

export interface Outcome {
  /** e.g. ok, aborted, sse:upstream_stream_error, http_502:upstream_status_error, truncated. */
  label: string;
  verdict: Verdict;
}

export function classify(s: Seen): Outcome {
  switch (s.kind) {
    case 'ok':
      return { label: 'ok', verdict: 'ok' };
    case 'aborted':
      return { label: 'aborted', verdict: 'aborted' };
    case 'sse_error': {
      const label = `sse:${s.code}`;
      return { label, verdict: s.openaiShape && UPSTREAM_CODES.has(s.code ?? '') ? 'upstream' : 'defect' };
    }
    case 'http_error': {
      const label = `http_${s.status}:${s.openaiShape ? s.code : 'not-openai-json'}`;
      if (!s.openaiShape) return { label, verdict: 'defect' };
      if (s.status < 500) return { label, verdict: UPSTREAM_CODES.has(s.code ?? '') ? 'upstream' : 'client' };
      return { label, verdict: UPSTREAM_CODES.has(s.code ?? '') ? 'upstream' : 'defect' };
    }
    default: // network, truncated: the client got no answer and no error it could read
      return { label: s.status === 0 ? 'connect_failed' : s.kind, verdict: 'defect' };
  }
}

/** Counts by key. */
export class Counts {
  readonly by: Record<string, number> = {};
  add(key: string, n = 1): void {
    this.by[key] = (this.by[key] ?? 0) + n;
  }
  get total(): number {
    return Object.values(this.by).reduce((a, b) => a + b, 0);
  }
}
