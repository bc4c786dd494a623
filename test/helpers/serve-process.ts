// Starts `kvroute serve` as a separate process through the real CLI, the way a user does: a config file, a data
// directory, `--port 0` (the router prints the port it got), and stops or kills it like an operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/kvroute.mjs', import.meta.url));

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) when the process has exited. */
  exited: Promise<number | string>;
  signal(sig: NodeJS.Signals): void;
}

export interface ServeOptions {
  /** The `--config` file's content (src/tenants/snapshot.ts format). */
  config: unknown;
  dataDir: string;
  args?: string[];
  env?: Record<string, string>;
  /** How long to wait for the "listening" line (default 30 s). */
  startTimeoutMs?: number;
}

export async function startServe(o: ServeOptions): Promise<ServeProcess> {
  const cfg = join(o.dataDir, 'config.json');
  writeFileSync(cfg, JSON.stringify(o.config));
  const child = spawn(process.execPath, [BIN, 'serve', '--config', cfg, '--port', '0', '--data-dir', o.dataDir, ...(o.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Local development: the simulators it routes to are on loopback (docs/security.md).
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', KVROUTE_LOCAL_DEV: '1', ...o.env },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kvroute serve did not start:\n${out}`)), o.startTimeoutMs ?? 30_000);
    const check = () => {
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kvroute serve exited (${code}) during start:\n${out}`));
    });
  });
  return { url, child, exited, output: () => out, signal: (sig) => child.kill(sig) };
}
