// What Linux tells about a process through /proc: its children, resident memory, open file descriptors and the
// TCP sockets among them. Used by the soak to watch the router (or the workerd process under the local Worker).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

function stat(pid: number): { comm: string; ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    return { comm: s.slice(s.indexOf('(') + 1, close), ppid: Number(s.slice(close + 2).split(' ')[1]) };
  } catch {
    return undefined; // gone
  }
}

/** Every live process below `pid`, breadth first. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = stat(Number(e));
    if (st) parent.set(st.ppid, [...(parent.get(st.ppid) ?? []), Number(e)]);
  }
  const out: number[] = [];
  for (let queue = [pid]; queue.length; ) {
    const kids = parent.get(queue.shift()!) ?? [];
    out.push(...kids);
    queue.push(...kids);
  }
  return out;
}

/** The first process below `pid` whose command name is `comm` (e.g. workerd under the local Worker). */
export function findDescendant(pid: number, comm: string): number | undefined {
  return descendants(pid).find((p) => stat(p)?.comm === comm);
}

/** Resident set size in bytes (VmRSS), undefined once the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The targets of the process's open file descriptors (`socket:[123]`, `/path`, `pipe:[..]`, ...). */
function fdTargets(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  const out: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      out.push(readlinkSync(`${dir}/${fd}`));
    } catch {
      // closed while we looked
    }
  }
  return out;
}

/** The inodes of every TCP socket on this host (IPv4 and IPv6), with their state. */
function tcpInodes(): Map<string, string> {
  const states: Record<string, string> = { '01': 'established', '06': 'time_wait', '08': 'close_wait', '0A': 'listen' };
  const out = new Map<string, string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9) out.set(cols[9]!, states[cols[3]!] ?? 'other');
    }
  }
  return out;
}

export interface Descriptors {
  fds: number;
  /** TCP sockets the process holds open (listening ones included). */
  tcp: number;
  /** Of those, how many in each state (established, listen, close_wait, other). */
  tcpByState: Record<string, number>;
}

/** Open file descriptors and TCP sockets of `pid`, undefined once the process is gone. */
export function descriptors(pid: number): Descriptors | undefined {
  let targets: string[];
  try {
    targets = fdTargets(pid);
  } catch {
    return undefined;
  }
  const tcp = tcpInodes();
  const byState: Record<string, number> = {};
  let n = 0;
  for (const t of targets) {
    const m = /^socket:\[(\d+)\]$/.exec(t);
    const state = m ? tcp.get(m[1]!) : undefined;
    if (state === undefined) continue;
    n++;
    byState[state] = (byState[state] ?? 0) + 1;
  }
  return { fds: targets.length, tcp: n, tcpByState: byState };
}
