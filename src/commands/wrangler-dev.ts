// The router in the local Workers runtime: `wrangler dev` on 127.0.0.1 with local KV, D1, Durable Objects and
// Queues. Shared by `kvroute start` and the benchmarks that need the real runtime (bench/board-lookup.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = fileURLToPath(new URL('../../node_modules/wrangler/bin/wrangler.js', import.meta.url));

export interface WranglerDevOptions {
  port: number;
  adminToken: string;
  /** Directory for the local KV / D1 / Durable Object state (default: wrangler's own, .wrangler/state). */
  persistTo?: string;
  /** Where wrangler's own output goes (default: this process's stdout / stderr; 'pipe': the caller reads it). */
  output?: 'inherit' | 'ignore' | 'pipe';
}

export interface WranglerDev {
  url: string;
  process: ChildProcess;
  alive(): boolean;
  stop(): Promise<void>;
}

export function spawnWranglerDev(o: WranglerDevOptions): WranglerDev {
  const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(o.port), '--var', `KVROUTE_ADMIN_TOKEN:${o.adminToken}`,
    '--log-level', 'warn', '--show-interactive-dev-session=false'];
  if (o.persistTo) args.push('--persist-to', o.persistTo);
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
