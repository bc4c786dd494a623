import { num } from './args.ts';

/** Resolves on the next SIGINT or SIGTERM (the long-running CLI commands then shut down cleanly). */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The drain flag of the commands that serve traffic (`kvroute serve`, `kvroute start:node`). */
export const DRAIN_FLAG = { 'drain-ms': { type: 'string' } } as const;
export const DRAIN_HELP = '--drain-ms N: on SIGTERM/SIGINT, let in-flight requests finish for up to N ms (env KVROUTE_DRAIN_MS, default 30000)';

/** How long in-flight requests may finish on shutdown: --drain-ms, else KVROUTE_DRAIN_MS, else 30 s. */
export function drainMs(flag: string | undefined, env: Record<string, string | undefined> = process.env): number {
  return Math.max(0, num('drain-ms', flag ?? env.KVROUTE_DRAIN_MS, 30_000));
}

/**
 * Waits for the first SIGTERM/SIGINT, then runs `shutdown` with a promise that resolves on a second signal (to cut
 * the drain short).
 */
export async function shutdownOnSignal(graceMs: number, shutdown: (cut: Promise<void>) => Promise<void>): Promise<void> {
  await untilSignal();
  console.log(`kvroute: draining in-flight requests for up to ${graceMs} ms (signal again to stop now)`);
  await shutdown(untilSignal());
}
