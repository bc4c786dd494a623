// V8 settings for a Node process that serves the router.
import v8 from 'node:v8';

/**
 * Turns off V8's allocation-site pretenuring. V8 allocates a site's objects in the old generation once most of them
 * survive a young collection, and under load it did that to the router's per-request sites. Those old objects die
 * with their request but keep the young objects they point to alive until the next full collection, so those are
 * promoted too and their sites look long-lived in turn: a loop that, once started, does not stop. Turning it off,
 * with the in-flight leases held in an array (src/util/leases.ts), took the promoted share of what the router
 * allocated from 15% to about 2%; neither change did it alone (docs/benchmarks.md, "Garbage collection on Node").
 * The setting is process-wide; requests served after it is set follow it.
 */
export function tuneHeapForRequests(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
