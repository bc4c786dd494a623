// N engines as N processes (`kvroute engine --port 0`), each on its own free port and its own CPU threads, as
// llama-servers run side by side: used by the demo (`npm start -- --engine llama`), the e2e tests and the bench.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/kvroute.mjs', import.meta.url));

export interface EngineProcessOptions {
  slots?: number;
  threads?: number;
  context?: number;
  model?: string;
  modelsDir?: string;
  /** Further `kvroute engine` flags. */
  args?: string[];
  /** How long one engine may take to load (default 120 s: engines started together share the CPU). */
  readyTimeoutMs?: number;
}

export interface EngineProcesses {
  urls: string[];
  pids: number[];
  /** Stops every engine (SIGTERM, then SIGKILL after 5 s) and waits for them to exit. */
  close(): Promise<void>;
}

function engineArgs(o: EngineProcessOptions): string[] {
  const args = [BIN, 'engine', '--port', '0'];
  const flag = (name: string, v: string | number | undefined) => v !== undefined && args.push(`--${name}`, String(v));
  flag('slots', o.slots);
  flag('threads', o.threads);
  flag('context', o.context);
  flag('model', o.model);
  flag('models-dir', o.modelsDir);
  return [...args, ...(o.args ?? [])];
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts one engine; resolves with its URL once it prints its ready line. */
function startOne(o: EngineProcessOptions, children: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, engineArgs(o), { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`kvroute engine did not get ready within ${o.readyTimeoutMs ?? 120_000} ms: ${err || out}`)), o.readyTimeoutMs ?? 120_000);
    child.stderr.on('data', (d) => (err += d));
    const onOut = (d: Buffer) => {
      out += d.toString();
      const m = /^ready: (\S+)/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      // From now on: stdout is drained, errors the engine reports go to this process's stderr.
      child.stdout.off('data', onOut).resume();
      child.stderr.removeAllListeners('data');
      child.stderr.pipe(process.stderr, { end: false });
      resolve(m[1]!);
    };
    child.stdout.on('data', onOut);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`kvroute engine exited (${signal ?? code}) before it was ready: ${err || out}`));
    });
  });
}

export async function startEngineProcesses(n: number, o: EngineProcessOptions = {}): Promise<EngineProcesses> {
  const children: ChildProcess[] = [];
  const close = async () => {
    await Promise.all(children.map(stop));
  };
  try {
    const urls = await Promise.all(Array.from({ length: n }, () => startOne(o, children)));
    return { urls, pids: children.map((c) => c.pid!), close };
  } catch (e) {
    await close();
    throw e;
  }
}
