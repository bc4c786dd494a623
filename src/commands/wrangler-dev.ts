// The router in the local Workers runtime: `wrangler dev` on 127.0.0.1 with local KV, D1, Durable Objects and
// Queues. Shared by `kvroute start` and the benchmarks that need the real runtime (bench/board-lookup.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LOCAL_DEV_VAR } from '../config/deployment.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = fileURLToPath(new URL('../../node_modules/wrangler/bin/wrangler.js', import.meta.url));

export interface WranglerDevOptions {
  port: number;
  adminToken: string;
  /** Directory for the local KV / D1 / Durable Object state (default: wrangler's own, .wrangler/state). */
  persistTo?: string;
  /** Where wrangler's own output goes (default: this process's stdout / stderr). */
  output?: 'inherit' | 'ignore';
  /** Extra Worker vars (e.g. CLICKHOUSE_URL). */
  vars?: Record<string, string>;
}

export interface WranglerDev {
  url: string;
  process: ChildProcess;
  alive(): boolean;
  stop(): Promise<void>;
}

export function spawnWranglerDev(o: WranglerDevOptions): WranglerDev {
  // wrangler.toml ships no admin token (a deploy must set a real secret); local development gets its token here,
  // with the local-dev signal that lets the Worker accept it and loopback backends (src/config/deployment.ts).
  const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(o.port), '--var', `KVROUTE_ADMIN_TOKEN:${o.adminToken}`,
    '--var', `${LOCAL_DEV_VAR}:1`, '--log-level', 'warn', '--show-interactive-dev-session=false'];
  if (o.persistTo) args.push('--persist-to', o.persistTo);
  for (const [k, v] of Object.entries(o.vars ?? {})) args.push('--var', `${k}:${v}`);
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
      await exited;
    },
  };
}
