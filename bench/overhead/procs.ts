// Child-process bookkeeping for bench/overhead: every process is started in its own process group, its output
// goes to a log file, and killAll() ends every group we started (SIGTERM, then SIGKILL) — also on error/SIGINT.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A free loopback port; within KVROUTE_PORT_RANGE when that is set (a machine shared by several runs). */
export { freePort } from '../../test/e2e/analytics/clickhouse-server.ts';

const children = new Set<ChildProcess>();
const exits = new Map<ChildProcess, string>();
const stopping = new WeakSet<ChildProcess>(); // processes we are stopping ourselves
let niceness = 0;

/**
 * Priority for this process and every process started after this call. Linux schedules by session
 * (autogroup) first, and every child here is a session of its own (detached), so the autogroup's nice is set
 * too (/proc/PID/autogroup); plain `nice` would not count against other sessions. Negative values need root.
 */
export function setNice(n: number): void {
  niceness = n;
  applyNice(process.pid);
}

function applyNice(pid: number): void {
  if (niceness === 0) return;
  try {
    fs.writeFileSync(`/proc/${pid}/autogroup`, String(niceness));
  } catch {
    /* no autogroup support */
  }
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) os.setPriority(Number(tid), niceness);
  } catch {
    /* not permitted */
  }
}

export interface Started {
  proc: ChildProcess;
  log: string;
}

/** Spawns `cmd args` (prefixed with `taskset -c cpus` when cpus is given) in its own process group. */
export function start(name: string, cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; cpus?: string; logDir: string }): Started {
  const log = path.join(opts.logDir, `${name}.log`);
  const fd = fs.openSync(log, 'a');
  const [c, a] = opts.cpus ? ['taskset', ['-c', opts.cpus, cmd, ...args]] : [cmd, args];
  const proc = spawn(c, a, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['pipe', fd, fd] });
  fs.closeSync(fd);
  if (proc.pid !== undefined) applyNice(proc.pid); // its threads start later and inherit the main thread's nice
  children.add(proc);
  proc.on('exit', (code, signal) => {
    children.delete(proc);
    exits.set(proc, `${name} exited (${signal ?? code})`);
    if (!stopping.has(proc)) console.error(`[bench] ${name} exited unexpectedly (${signal ?? `code ${code}`}); log ${log}`);
  });
  return { proc, log };
}

function killGroup(p: ChildProcess, sig: NodeJS.Signals) {
  if (p.pid === undefined) return;
  stopping.add(p);
  try {
    process.kill(-p.pid, sig);
  } catch {
    /* already gone */
  }
}

export async function stop(p: ChildProcess, graceMs = 2000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  stopping.add(p);
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  killGroup(p, 'SIGTERM');
  const t = setTimeout(() => killGroup(p, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

export async function killAll(): Promise<void> {
  await Promise.all([...children].map((p) => stop(p)));
}

/** Synchronous last resort (process 'exit' handler): SIGKILL every group still alive. */
/** Why a process we started is gone, or undefined while it runs. */
export function exitOf(p: ChildProcess): string | undefined {
  return p.exitCode !== null || p.signalCode !== null ? (exits.get(p) ?? `exited (${p.signalCode ?? p.exitCode})`) : undefined;
}

export function killAllSync(): void {
  for (const p of children) killGroup(p, 'SIGKILL');
}

/** Waits until `probe` resolves true, the process exits (error), or the timeout passes (error). */
export async function waitReady(name: string, s: Started, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) {
      throw new Error(`${name} exited (${s.proc.exitCode ?? s.proc.signalCode}) before it was ready; log ${s.log}:\n${tail(s.log)}`);
    }
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} not ready after ${timeoutMs} ms; log ${s.log}:\n${tail(s.log)}`);
}

export function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** TCP connect probe. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The child processes still alive. */
export function live(): ChildProcess[] {
  return [...children];
}

/** CPU time (clock ticks) used so far by every process in the process groups we started (Linux /proc). */
export function groupTicks(only?: ChildProcess): number {
  const groups = new Set(only ? [only.pid] : live().map((p) => p.pid));
  let ticks = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] = state (field 3)
      if (!groups.has(Number(fields[2]))) continue; // pgrp (field 5)
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    } catch {
      /* process went away */
    }
  }
  return ticks;
}

/**
 * Waits until the started processes are idle (< 10% of one CPU over 250 ms), at most `maxMs`: a slow target
 * still draining a backlog after a load phase must not slow down the next target's measurement.
 */
export async function settle(maxMs = 10_000): Promise<number> {
  const t0 = Date.now();
  let prev = groupTicks();
  while (Date.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 250));
    const cur = groupTicks();
    if (cur - prev <= 2) return Date.now() - t0; // 100 ticks/s: 2 ticks in 250 ms = 8%
    prev = cur;
  }
  return Date.now() - t0;
}
