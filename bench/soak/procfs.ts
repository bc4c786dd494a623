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

/** Resident memory by kind (RssAnon: heap, malloc, V8; RssFile: mapped binaries and libraries), in bytes. */
export function rssParts(pid: number): { anon: number; file: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return undefined;
  }
}

/**
 * Resident memory by mapping kind, from /proc/PID/smaps, in bytes: `brk` is the main malloc heap ([heap], which
 * returns memory only from its top, so fragmentation keeps it resident); `v8Pages` the 256 KiB anonymous mappings
 * V8 allocates its regular heap pages in (Node without pointer compression); `otherAnon` the rest of the anonymous
 * memory (thread malloc arenas, V8's large-object and new-space reservations, stacks); `file` mapped files.
 */
export function residentByMapping(pid: number): { brk: number; v8Pages: number; otherAnon: number; file: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const out = { brk: 0, v8Pages: 0, otherAnon: 0, file: 0 };
  let kind: keyof typeof out = 'otherAnon';
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const size = parseInt(m[2]!, 16) - parseInt(m[1]!, 16);
      const name = m[3]!;
      kind = name === '[heap]' ? 'brk' : name.startsWith('/') ? 'file' : name === '' && size === 256 * 1024 ? 'v8Pages' : 'otherAnon';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss) out[kind] += Number(rss[1]) * 1024;
  }
  return out;
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

interface TcpSocket {
  state: string;
  localPort: number;
  remotePort: number;
}

/** The inodes of every TCP socket on this host (IPv4 and IPv6), with their state and ports. */
function tcpInodes(): Map<string, TcpSocket> {
  const states: Record<string, string> = { '01': 'established', '06': 'time_wait', '08': 'close_wait', '0A': 'listen' };
  const port = (addr: string) => parseInt(addr.slice(addr.lastIndexOf(':') + 1), 16);
  const out = new Map<string, TcpSocket>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9) out.set(cols[9]!, { state: states[cols[3]!] ?? 'other', localPort: port(cols[1]!), remotePort: port(cols[2]!) });
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
  /** By which connection it is and its state ("clients established", "backends close_wait", ...), with `peerOf`. */
  tcpByPeer?: Record<string, number>;
}

/** Names a socket by its ports (e.g. "clients" for one on the router's listening port), or undefined: "other". */
export type PeerOf = (localPort: number, remotePort: number) => string | undefined;

/** Open file descriptors and TCP sockets of `pid`, undefined once the process is gone. */
export function descriptors(pid: number, peerOf?: PeerOf): Descriptors | undefined {
  let targets: string[];
  try {
    targets = fdTargets(pid);
  } catch {
    return undefined;
  }
  const tcp = tcpInodes();
  // Ports something on this host listens on: an unnamed socket is then told apart as one to a local server
  // ("to :PORT") or one a local server accepted ("on :PORT").
  const listening = new Set<number>();
  for (const t of tcp.values()) if (t.state === 'listen') listening.add(t.localPort);
  const unnamed = (t: TcpSocket) =>
    t.state === 'listen' ? 'listening' : listening.has(t.localPort) ? `on :${t.localPort}` : listening.has(t.remotePort) ? `to :${t.remotePort}` : 'other';
  const byState: Record<string, number> = {};
  const byPeer: Record<string, number> = {};
  let n = 0;
  for (const t of targets) {
    const m = /^socket:\[(\d+)\]$/.exec(t);
    const sock = m ? tcp.get(m[1]!) : undefined;
    if (sock === undefined) continue;
    n++;
    byState[sock.state] = (byState[sock.state] ?? 0) + 1;
    if (peerOf) {
      const k = `${peerOf(sock.localPort, sock.remotePort) ?? unnamed(sock)} ${sock.state}`;
      byPeer[k] = (byPeer[k] ?? 0) + 1;
    }
  }
  return { fds: targets.length, tcp: n, tcpByState: byState, ...(peerOf && { tcpByPeer: byPeer }) };
}
