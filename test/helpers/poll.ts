// Waiting for a condition in tests: poll, bounded in time, and hand back what was seen last so that the
// assertion that follows shows it.

/** Polls `read` until `ok(value)` holds or `timeoutMs` passes; returns the last value read (a throw counts as not yet). */
export async function pollUntil<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000, everyMs = 20): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch {
      // not there yet (a table not created, a server still starting)
    }
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
