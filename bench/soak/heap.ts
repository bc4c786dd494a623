// The V8 heaps inside one workerd process, through its DevTools inspector (the local Worker started with
// KVROUTE_INSPECTOR_PORT=P, see bin/commands/local-worker-main.ts). workerd runs each Worker and each of
// Miniflare's own services (D1, Queues, KV, cache) in an isolate of its own; this tells their heaps apart, so
// growth of the process's RSS can be put down to the kvroute isolate, another isolate, or memory outside V8.
//   npx tsx bench/soak/heap.ts --port P [--gc]                   used/total heap per isolate
//   npx tsx bench/soak/heap.ts --port P --snapshot FILE [--target core:user:kvroute]
//                                                                 objects by constructor of one isolate (after a GC)
//   npx tsx bench/soak/heap.ts --from A.json --to B.json          what grew between two such files
import { readFileSync, writeFileSync } from 'node:fs';
import { WebSocket } from 'undici';
import { num, parseFlags } from '../../src/util/args.ts';

export const KVROUTE_ISOLATE = 'core:user:kvroute';

interface Target {
  id: string;
  webSocketDebuggerUrl: string;
}

/** One DevTools session with one isolate: send() a method, get its result; events go to `onEvent`. */
export class Session {
  private next = 1;
  private waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  onEvent: (method: string, params: Record<string, unknown>) => void = () => {};
  private constructor(private ws: WebSocket) {
    ws.addEventListener('message', (e) => {
      const m = JSON.parse(String(e.data)) as { id?: number; method?: string; params?: Record<string, unknown>; result?: unknown; error?: { message: string } };
      if (m.id === undefined) return this.onEvent(m.method!, m.params ?? {});
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error) w?.reject(new Error(m.error.message));
      else w?.resolve(m.result);
    });
    ws.addEventListener('close', () => {
      for (const w of this.waiting.values()) w.reject(new Error('inspector connection closed'));
      this.waiting.clear();
    });
  }

  static open(url: string): Promise<Session> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(new Session(ws)));
      ws.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)));
    });
  }

  /** Bounded: an isolate with no work to do may not answer some methods (collectGarbage) until it has some. */
  send<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = <V,>(f: (v: V) => void) => (v: V) => (clearTimeout(timer), f(v));
      this.waiting.set(id, { resolve: done(resolve as (v: unknown) => void), reject: done(reject) });
    });
  }

  close(): void {
    this.ws.close();
  }
}

export async function targets(port: number): Promise<Target[]> {
  return (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json<unknown>()) as Target[];
}

/** Runs `f` with a DevTools session on one inspector target of the workerd process at `port`. */
export async function withSession<T>(port: number, target: string, f: (s: Session) => Promise<T>): Promise<T> {
  const t = (await targets(port)).find((x) => x.id === target);
  if (!t) throw new Error(`no inspector target '${target}' on port ${port}`);
  const s = await Session.open(t.webSocketDebuggerUrl);
  try {
    return await f(s);
  } finally {
    s.close();
  }
}

export interface IsolateHeap {
  usedBytes: number;
  totalBytes: number;
  /** Outside the JS heap, held by the isolate: C++ objects (cppgc) and ArrayBuffer backing stores. */
  embedderBytes: number;
  backingStoreBytes: number;
}

/**
 * Used and total V8 heap of every isolate in the process; with `gc`, the kvroute isolate's after a full GC (the
 * only one collected: Miniflare's idle service isolates do not answer collectGarbage until they have work).
 */
export async function heapsByIsolate(port: number, gc = false): Promise<Record<string, IsolateHeap>> {
  const list = await targets(port);
  const heaps = await Promise.all(
    list.map((t) =>
      withSession(port, t.id, async (s) => {
        if (gc && t.id === KVROUTE_ISOLATE) await s.send('HeapProfiler.collectGarbage');
        const u = await s.send<{ usedSize: number; totalSize: number; embedderHeapUsedSize?: number; backingStorageSize?: number }>('Runtime.getHeapUsage');
        return { usedBytes: u.usedSize, totalBytes: u.totalSize, embedderBytes: u.embedderHeapUsedSize ?? 0, backingStoreBytes: u.backingStorageSize ?? 0 };
      }),
    ),
  );
  return Object.fromEntries(list.map((t, i) => [t.id, heaps[i]!]));
}

export type ObjectCounts = Record<string, { count: number; selfBytes: number }>;

/** A heap snapshot of one isolate (taken after a full GC), reduced to objects by type and constructor name. */
export async function objectsByConstructor(port: number, target = KVROUTE_ISOLATE): Promise<ObjectCounts> {
  const json = await withSession(port, target, async (s) => {
    const chunks: string[] = [];
    s.onEvent = (method, params) => {
      if (method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(params.chunk as string);
    };
    await s.send('HeapProfiler.collectGarbage');
    await s.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 300_000);
    return chunks.join('');
  });
  const snap = JSON.parse(json) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const types = snap.snapshot.meta.node_types[0];
  const out: ObjectCounts = {};
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt!]!]!;
    const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + nameAt!]!]! : '';
    const key = `${type}${name ? ` ${name.slice(0, 60)}` : ''}`;
    const e = (out[key] ??= { count: 0, selfBytes: 0 });
    e.count++;
    e.selfBytes += snap.nodes[i + sizeAt!]!;
  }
  return out;
}

/** The largest growths from `a` to `b`, by retained self size. */
export function diffCounts(a: ObjectCounts, b: ObjectCounts, top = 30): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const rows = [...keys].map((k) => ({ k, dn: (b[k]?.count ?? 0) - (a[k]?.count ?? 0), db: (b[k]?.selfBytes ?? 0) - (a[k]?.selfBytes ?? 0) }));
  rows.sort((x, y) => y.db - x.db);
  return rows.slice(0, top).map((r) => `${(r.db / 1024).toFixed(0).padStart(9)} KiB ${String(r.dn).padStart(8)} objects  ${r.k}`);
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

if (process.argv[1]?.endsWith('heap.ts')) {
  const f = parseFlags(process.argv.slice(2), {
    port: { type: 'string' },
    gc: { type: 'boolean' },
    snapshot: { type: 'string' },
    target: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
  });
  if (f.from && f.to) {
    const read = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as ObjectCounts;
    console.log(diffCounts(read(f.from), read(f.to)).join('\n'));
  } else {
    const port = num('port', f.port, 0);
    if (f.snapshot) {
      const counts = await objectsByConstructor(port, f.target ?? KVROUTE_ISOLATE);
      writeFileSync(f.snapshot, JSON.stringify(counts));
      const total = Object.values(counts).reduce((n, c) => n + c.selfBytes, 0);
      console.log(`wrote ${f.snapshot}: ${Object.keys(counts).length} kinds, ${mib(total)} live`);
    } else {
      const heaps = await heapsByIsolate(port, f.gc);
      const row = (h: IsolateHeap) =>
        `${mib(h.usedBytes).padStart(10)} used ${mib(h.totalBytes).padStart(10)} total ${mib(h.backingStoreBytes).padStart(10)} array buffers ${mib(h.embedderBytes).padStart(10)} embedder`;
      for (const [id, h] of Object.entries(heaps)) console.log(`${row(h)}  ${id}`);
      const sum = (k: keyof IsolateHeap) => Object.values(heaps).reduce((n, h) => n + h[k], 0);
      console.log(`${row({ usedBytes: sum('usedBytes'), totalBytes: sum('totalBytes'), backingStoreBytes: sum('backingStoreBytes'), embedderBytes: 0 })}  all isolates`);
    }
  }
}
