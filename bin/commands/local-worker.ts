// The router in the local Workers runtime (workerd through wrangler, with local KV, D1, Durable Objects and
// Queues), as a child process on 127.0.0.1. Shared by `kvroute start`, the fault-matrix tests and the benchmarks
// that need the real runtime (bench/board-lookup.ts).
//
// It runs wrangler's programmatic dev server (`unstable_startWorker`) rather than the `wrangler dev` CLI, for one
// reason: the CLI always attaches the devtools inspector, which copies every response body into its proxy; under
// concurrent streams with upstream faults the dev proxy then fails requests with a text/plain 503 "Your worker
// restarted mid-request" that the Worker never produced. With the inspector off the same runtime serves them.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LOCAL_DEV_VAR } from '../../src/config/deployment.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/kvroute.mjs', import.meta.url));

export interface LocalWorkerOptions {
  port: number;
  adminToken: string;
  /** Directory for the local KV / D1 / Durable Object state (default: wrangler's own, .wrangler/state). */
  persistTo?: string;
  /** Where the runtime's output goes (default: this process's stdout / stderr). */
  output?: 'inherit' | 'ignore' | 'pipe';
  /** Extra Worker vars (e.g. CLICKHOUSE_URL). */
  vars?: Record<string, string>;
  /** Bindings of wrangler.toml to leave out (e.g. EVENTS, ANALYTICS_DB: a Worker without a Queue or D1). */
  without?: string[];
  /** The Worker on its own socket, without Miniflare's entry worker proxying each request (see local-worker-main.ts). */
  direct?: boolean;
}

export interface LocalWorker {
  url: string;
  process: ChildProcess;
  alive(): boolean;
  stop(): Promise<void>;
}

/** Starts `kvroute local-worker` in a child process; ready once its URL answers /health (see waitForHealth). */
export function spawnLocalWorker(o: LocalWorkerOptions): LocalWorker {
  // wrangler.toml ships no admin token (a deploy must set a real secret); local development gets its token here,
  // with the local-dev signal that lets the Worker accept it and loopback backends (src/config/deployment.ts).
  const vars = { KVROUTE_ADMIN_TOKEN: o.adminToken, [LOCAL_DEV_VAR]: '1', ...o.vars };
  const args = [BIN, 'local-worker', '--port', String(o.port), '--vars', JSON.stringify(vars)];
  if (o.persistTo) args.push('--persist-to', o.persistTo);
  if (o.without?.length) args.push('--without', o.without.join(','));
  if (o.direct) args.push('--direct');
  const out = o.output ?? 'inherit';
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', out, out],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    url: `http://127.0.0.1:${o.port}`,
    process: child,
    alive,
    stop: async () => {
      if (!alive()) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
