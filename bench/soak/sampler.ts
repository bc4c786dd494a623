// One sample of the router under soak: the serving process's memory and descriptors (/proc), on Node also its
// V8 heap and active handles (admin /metrics), and in-flight requests per backend (admin /backends).
import os from 'node:os';
import { ADMIN_TOKEN, type Router } from '../../test/e2e/faults/harness.ts';
import type { AllocatorStats } from './allocator.ts';
import { heapsByIsolate, KVROUTE_ISOLATE } from './heap.ts';
import { descriptors, residentByMapping, rssBytes, rssParts, type PeerOf } from './procfs.ts';

export interface ProcessSample {
  /** Seconds since the load started (negative before it). */
  t: number;
  rssBytes: number;
  /** RSS split: anonymous memory (heaps, malloc) and file-backed pages (the binary, libraries). */
  rssAnonBytes?: number;
  rssFileBytes?: number;
  /** Resident memory by mapping kind (main malloc heap, V8 pages, other anonymous, files): see residentByMapping. */
  resident?: { brk: number; v8Pages: number; otherAnon: number; file: number };
  /** Node: the process's V8 heap. workerd: the kvroute isolate's (through the inspector, see heap.ts). */
  heapUsedBytes?: number;
  heapTotalBytes?: number;
  /** workerd: every isolate in the process (the Worker's and Miniflare's services), summed; the rest of RSS is native. */
  isolates?: { usedBytes: number; totalBytes: number; arrayBuffersBytes: number; byId?: Record<string, { totalBytes: number; arrayBuffersBytes: number }> };
  /** workerd: taken right after a full GC of the kvroute isolate, so heapUsedBytes and arrayBuffersBytes are live. */
  afterGc?: boolean;
  /** workerd: tcmalloc's account of the native heap (every few minutes: reading it pauses the process, see allocator.ts). */
  allocator?: AllocatorStats;
  /** After the load only: RSS once tcmalloc returned its free pages to the kernel. */
  rssAfterReleaseBytes?: number;
  externalBytes?: number;
  arrayBuffersBytes?: number;
  /** Node: V8 heap spaces (new, old, code, large_object ...), size reserved and used, in bytes. */
  heapSpaces?: Record<string, { total: number; used: number }>;
  /** Node: resources keeping the event loop alive, by type (TCPSocketWrap, Timeout, ...). */
  activeResources?: Record<string, number>;
  fds: number;
  tcp: number;
  tcpByState: Record<string, number>;
  /** TCP sockets by connection (clients, backends, clickhouse, other) and state. */
  tcpByPeer?: Record<string, number>;
  /** In-flight requests per backend index, as the router counts them. */
  inflight: number[];
  /** Per backend index: the router's breaker state (closed, open, half-open), its ejections so far, and whether probes find it healthy. */
  breakers?: { state: string; ejections: number; healthy?: boolean }[];
  load1: number;
}

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Gauges from the Node router's Prometheus text (absent on workerd: the Worker cannot see its process). */
async function nodeGauges(
  router: Router,
): Promise<Pick<ProcessSample, 'heapUsedBytes' | 'heapTotalBytes' | 'externalBytes' | 'arrayBuffersBytes' | 'heapSpaces' | 'activeResources'>> {
  if (router.runtime !== 'node') return {};
  const text = await (await fetch(`${router.url}/metrics`, { headers: auth })).text();
  const value = (name: string) => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const activeResources: Record<string, number> = {};
  for (const m of text.matchAll(/^nodejs_active_resources\{type="([^"]+)"\} (\S+)$/gm)) activeResources[m[1]!] = Number(m[2]);
  const heapSpaces: Record<string, { total: number; used: number }> = {};
  for (const m of text.matchAll(/^nodejs_heap_space_size_(total|used)_bytes\{space="([^"]+)"\} (\S+)$/gm)) {
    const s = (heapSpaces[m[2]!] ??= { total: 0, used: 0 });
    s[m[1] as 'total' | 'used'] = Number(m[3]);
  }
  return {
    heapUsedBytes: value('nodejs_heap_size_used_bytes'),
    heapTotalBytes: value('nodejs_heap_size_total_bytes'),
    externalBytes: value('nodejs_external_memory_bytes'),
    arrayBuffersBytes: value('nodejs_array_buffers_bytes'),
    heapSpaces,
    activeResources,
  };
}

type BackendView = { inflight: number; breaker: string; ejections: number; healthy: boolean };

/** The router's view of each backend, in the order of `backendUrls`. */
async function backendViews(router: Router, backendUrls: string[]): Promise<(BackendView | undefined)[]> {
  const j = (await (await fetch(`${router.url}/admin/backends`, { headers: auth })).json<unknown>()) as { backends: Record<string, BackendView> };
  return backendUrls.map((u) => j.backends[u]);
}


/** workerd: the kvroute isolate's heap and the sum over all isolates, from the inspector on `port`. */
async function isolateGauges(port: number | undefined, gc: boolean): Promise<Pick<ProcessSample, 'heapUsedBytes' | 'heapTotalBytes' | 'arrayBuffersBytes' | 'isolates' | 'afterGc'>> {
  if (port === undefined) return {};
  const heaps = await heapsByIsolate(port, gc);
  const all = Object.values(heaps);
  const own = heaps[KVROUTE_ISOLATE];
  const sum = (f: (h: (typeof all)[number]) => number) => all.reduce((n, h) => n + f(h), 0);
  return {
    heapUsedBytes: own?.usedBytes,
    heapTotalBytes: own?.totalBytes,
    arrayBuffersBytes: own?.backingStoreBytes,
    isolates: {
      usedBytes: sum((h) => h.usedBytes),
      totalBytes: sum((h) => h.totalBytes),
      arrayBuffersBytes: sum((h) => h.backingStoreBytes),
      byId: Object.fromEntries(Object.entries(heaps).map(([id, h]) => [id, { totalBytes: h.totalBytes, arrayBuffersBytes: h.backingStoreBytes }])),
    },
    ...(gc && { afterGc: true }),
  };
}

/**
 * Samples `pid` (the process that serves) and the router's admin view; throws if the process is gone.
 * `inspectorPort`: workerd's inspector, for the heaps of its isolates; with `gc`, read after a full GC of kvroute's.
 */
export async function sampleProcess(router: Router, pid: number, backendUrls: string[], t: number, peerOf?: PeerOf, inspectorPort?: number, gc = false): Promise<ProcessSample> {
  const [gauges, isolates, views] = await Promise.all([nodeGauges(router), isolateGauges(inspectorPort, gc), backendViews(router, backendUrls)]);
  const inflight = views.map((b) => b?.inflight ?? 0);
  const breakers = views.map((b) => ({ state: b?.breaker ?? 'unknown', ejections: b?.ejections ?? 0, healthy: b?.healthy }));
  // /proc after the admin requests: the sampler's own keep-alive connection is counted the same way every time.
  const rss = rssBytes(pid);
  const parts = rssParts(pid);
  const d = descriptors(pid, peerOf);
  if (rss === undefined || d === undefined) throw new Error(`the router process ${pid} is gone`);
  return { t, rssBytes: rss, rssAnonBytes: parts?.anon, rssFileBytes: parts?.file, resident: residentByMapping(pid), ...gauges, ...isolates, fds: d.fds, tcp: d.tcp, tcpByState: d.tcpByState, tcpByPeer: d.tcpByPeer, inflight, breakers, load1: os.loadavg()[0]! };
}
