/** Exponential backoff for the `attempt`-th retry (1-based): base doubling up to max, with +-20% jitter. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const ms = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 20));
  return ms * (0.8 + Math.random() * 0.4);
}
