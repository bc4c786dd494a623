// `kvroute serve` as a real process, the way a user starts it: for tests of the CLI's config handling and of
// several replicas on one state file. Port 0: the router prints the URL it listens on.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/kvroute.mjs', import.meta.url));

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface ServeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnServe(args: string[], env: Record<string, string | undefined>): { child: ChildProcess; out: () => ServeRun } {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--no-analytics', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Nothing of the test runner's own environment decides the router's token or local-dev mode.
    env: { ...process.env, KVROUTE_ADMIN_TOKEN: undefined, KVROUTE_LOCAL_DEV: undefined, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return { child, out: () => ({ code: child.exitCode, stdout, stderr }) };
}

/** Starts `kvroute serve` and waits until it listens (bounded); throws with its output if it exits first. */
export async function startServe(args: string[], env: Record<string, string | undefined>): Promise<ServeProcess> {
  const { child, out } = spawnServe(args, env);
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  while (!url) {
    url = /listening on (http:\/\/\S+)/.exec(out().stdout)?.[1];
    if (child.exitCode !== null) throw new Error(`kvroute serve exited ${child.exitCode}: ${out().stderr || out().stdout}`);
    if (Date.now() > deadline) throw new Error(`kvroute serve did not start: ${out().stderr || out().stdout}`);
    if (!url) await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Runs `kvroute serve` that is expected to refuse to start; returns its exit code and output. One that starts
 * after all is stopped at once (code null), and so is one that does neither within 30 s.
 */
export async function runServeExpectingExit(args: string[], env: Record<string, string | undefined>): Promise<ServeRun> {
  const { child, out } = spawnServe(args, env);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const started = () => {
    if (out().stdout.includes('listening on')) child.kill('SIGKILL');
  };
  child.stdout!.on('data', started);
  await new Promise((r) => child.once('exit', r));
  clearTimeout(timer);
  return out();
}
