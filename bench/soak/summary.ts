// The soak's figures and its pass/fail checks, computed from the samples and the end-of-run measurements.
import { freeBytes } from './allocator.ts';
import type { FaultWindow } from './faults.ts';
import type { ProcessSample } from './sampler.ts';

export interface Sample extends ProcessSample {
  /** Answers per second over the interval that ended at `t`. */
  rps: number;
  /** Answers in the interval, by verdict (ok, aborted, upstream, client, defect). */
  outcomes: Record<string, number>;
  /** The failures of the interval by label (e.g. http_503:no_backend_available), to see when each kind happened. */
  failures?: Record<string, number>;
}

export interface EndState {
  /** fds and TCP sockets of the router once the load stopped and its connections settled. */
  settled: { afterMs: number; fds: number; tcp: number; tcpByState: Record<string, number>; tcpByPeer?: Record<string, number> };
  inflight: number;
  events: {
    tenant: string;
    answered: number;
    stored: number;
    /** Seconds from the end of the load until the count was complete (or the wait gave up). */
    afterLoadS?: number;
    /** Answered requests by the client's verdict, and stored request events by their error class. */
    answeredBy: Record<string, number>;
    storedBy: Record<string, number>;
  }[];
}

export interface Check {
  name: string;
  value: string;
  /** Undefined for a figure that explains the others (no threshold). */
  pass?: boolean;
}

export interface SoakResult {
  runtime: string;
  /** Bindings of wrangler.toml the Worker ran without (--without); the result file is then named after them. */
  without?: string[];
  /** The share of streams the clients left, when not the workload's default (--abort-share); also in the file name. */
  abortShare?: number;
  /** workerd: the Worker served on its own socket, without Miniflare's entry worker in front. */
  direct?: boolean;
  /** Run with --no-faults: the load alone. */
  noFaults?: boolean;
  command: string;
  startedAt: string;
  minutes: number;
  concurrency: number;
  sampleMs: number;
  /** Which process the memory and descriptor figures are of. */
  measured: string;
  baseline: ProcessSample;
  samples: Sample[];
  faults: FaultWindow[];
  faultStepErrors: string[];
  /** Samples that could not be taken (the router did not answer its admin API, or its process was gone). */
  sampleErrors: string[];
  totals: { requests: number; outcomes: Record<string, number>; shapes: Record<string, number>; defectExamples: Record<string, unknown> };
  end: EndState;
  loadAverage: { mean: number; max: number };
  checks: Check[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const states = (by: Record<string, number>) => Object.entries(by).map(([k, n]) => `${k} ${n}`).join(', ');
const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/**
 * RSS growth from the warm point to the end of the load: the median over the minute after `warmS` against the
 * median over the last minute (medians, so one sample taken mid-GC does not decide it).
 */
export function rssGrowth(samples: Sample[], warmS: number, endS: number): { from: number; to: number; growth: number } {
  const window = (a: number, b: number) => median(samples.filter((s) => s.t >= a && s.t <= b).map((s) => s.rssBytes));
  const from = window(warmS, warmS + 60);
  const to = window(endS - 60, endS);
  return { from, to, growth: to / from - 1 };
}

export function checks(r: Omit<SoakResult, 'checks'>, warmS: number): Check[] {
  const endS = r.minutes * 60;
  const g = rssGrowth(r.samples, warmS, endS);
  const defects = Object.values(r.samples).reduce((n, s) => n + (s.outcomes.defect ?? 0), 0);
  const fiveXX = Object.entries(r.totals.outcomes).filter(([k]) => /^http_5/.test(k));
  const ownFiveXX = fiveXX.filter(([k]) => !/:(no_backend_available|upstream_\w+)$/.test(k));
  const out: Check[] = [
    { name: `RSS growth, minute ${(warmS / 60).toFixed(1)} to minute ${r.minutes} (< 10%)`, value: `${mb(g.from)} -> ${mb(g.to)} (${(g.growth * 100).toFixed(1)}%)`, pass: g.growth < 0.1 },
    ...heapFigures(r.samples, warmS, endS),
    ...isolateFigures(r.samples, warmS, endS),
    ...allocatorFigures(r.samples, warmS, endS),
    ...memoryBreakdown(r.samples, warmS, endS),
    ...rssByBlock(r.samples, endS),
    { name: 'open fds back to the start value after the load', value: `${r.baseline.fds} -> ${r.end.settled.fds} (settled after ${(r.end.settled.afterMs / 1000).toFixed(0)} s)`, pass: r.end.settled.fds <= r.baseline.fds },
    { name: 'TCP sockets back to the start value after the load', value: `${r.baseline.tcp} -> ${r.end.settled.tcp} (${states(r.end.settled.tcpByPeer ?? r.end.settled.tcpByState)})`, pass: r.end.settled.tcp <= r.baseline.tcp },
    { name: 'in-flight back to 0 at the end', value: String(r.end.inflight), pass: r.end.inflight === 0 },
    { name: "no 5xx from kvroute's own code", value: ownFiveXX.length ? ownFiveXX.map(([k, n]) => `${k} x${n}`).join(', ') : `0 (upstream 5xx: ${fiveXX.reduce((n, [, v]) => n + v, 0)})`, pass: ownFiveXX.length === 0 },
    { name: 'every error OpenAI JSON, no cut streams or broken connections', value: `${defects} defects`, pass: defects === 0 },
  ];
  for (const e of r.end.events) out.push({ name: `one stored event per answered request (${e.tenant})`, value: `${e.stored} stored / ${e.answered} answered${e.afterLoadS === undefined ? '' : ` (${e.stored === e.answered ? 'complete' : 'still short'} ${e.afterLoadS} s after the load)`}`, pass: e.stored === e.answered });
  return out;
}

/**
 * Node: what the heap did over the same span. The lowest heap-used sample of a minute is close to the live heap
 * after a collection; heap total is what V8 reserved. A leak raises the first; a heap V8 merely sized up raises
 * only the second (and RSS with it). The last sample, after the load, shows what is left once V8 shrank back.
 */
function heapFigures(samples: Sample[], warmS: number, endS: number): Check[] {
  const inWindow = (a: number, b: number) => samples.filter((s) => s.t >= a && s.t <= b && s.heapUsedBytes !== undefined);
  const low = (xs: Sample[]) => Math.min(...xs.map((s) => s.heapUsedBytes!));
  const total = (xs: Sample[]) => median(xs.map((s) => s.heapTotalBytes!));
  const [warm, end] = [inWindow(warmS, warmS + 60), inWindow(endS - 60, endS)];
  const last = samples.at(-1);
  if (!warm.length || !end.length || last?.heapUsedBytes === undefined) return [];
  return [
    { name: 'heap used, lowest sample of the minute (live heap)', value: `${mb(low(warm))} -> ${mb(low(end))}; after the load ${mb(last.heapUsedBytes)}` },
    { name: 'heap total (reserved by V8), median of the minute', value: `${mb(total(warm))} -> ${mb(total(end))}; after the load ${mb(last.heapTotalBytes!)}, RSS ${mb(last.rssBytes)}` },
  ];
}

/**
 * workerd (one process for the kvroute isolate and Miniflare's own services): whether the growth is in kvroute's
 * heap or outside it. A leak in kvroute's code grows what its isolate holds after a full GC (the samples taken
 * once a minute right after one: heap and ArrayBuffers); between collections workerd lets garbage, mostly stream
 * chunks' ArrayBuffers, pile up, which raises RSS without being held. Growth of RSS beside flat heaps of every
 * isolate is native memory of workerd.
 */
function isolateFigures(samples: Sample[], warmS: number, endS: number): Check[] {
  const gcd = (a: number, b: number) => samples.filter((s) => s.t >= a && s.t <= b && s.afterGc && s.heapUsedBytes !== undefined);
  const all = (a: number, b: number) => samples.filter((s) => s.t >= a && s.t <= b && s.isolates !== undefined);
  // The warm window and the end window each hold one or two GC samples at the default minute cadence; widen to
  // the nearest one when a sample failed.
  const [warm, end] = [gcd(warmS, warmS + 90), gcd(endS - 90, endS)];
  const after = samples.filter((s) => s.t > endS && s.afterGc).at(-1);
  const out: Check[] = [];
  if (warm.length && end.length) {
    const live = (s: Sample) => s.heapUsedBytes! + (s.arrayBuffersBytes ?? 0);
    const [from, to] = [median(warm.map(live)), median(end.map(live))];
    // Under load this moves with the streams in flight at the moment of the collection; after the load it is
    // what the isolate keeps, the leak test.
    out.push({
      name: 'kvroute isolate, heap + ArrayBuffers after a full GC, under load',
      value: `${mb(from)} -> ${mb(to)} (${((to / from - 1) * 100).toFixed(1)}%)`,
    });
    if (after)
      out.push({
        name: 'kvroute isolate after the load, against the warm minute (< 10%)',
        value: `${mb(from)} -> ${mb(live(after))} (${((live(after) / from - 1) * 100).toFixed(1)}%; heap ${mb(after.heapUsedBytes!)}, ArrayBuffers ${mb(after.arrayBuffersBytes ?? 0)}), RSS then ${mb(after.rssBytes)}`,
        pass: live(after) / from - 1 < 0.1,
      });
  }
  const [w, e] = [all(warmS, warmS + 60), all(endS - 60, endS)];
  const last = samples.at(-1);
  if (!w.length || !e.length || last?.isolates === undefined) return out;
  const m = (xs: Sample[], f: (s: Sample) => number) => median(xs.map(f));
  const held = (s: Sample) => s.isolates!.totalBytes + s.isolates!.arrayBuffersBytes;
  const outside = (s: Sample) => s.rssBytes - held(s);
  out.push(
    { name: 'all isolates (kvroute + Miniflare services), heap total + ArrayBuffers, median', value: `${mb(m(w, held))} -> ${mb(m(e, held))}; after the load ${mb(held(last))}` },
    { name: 'RSS outside every V8 heap (workerd native memory), median', value: `${mb(m(w, outside))} -> ${mb(m(e, outside))}; after the load ${mb(outside(last))}` },
  );
  // Which isolate holds the growth: each one's heap total + ArrayBuffers, the biggest movers first.
  const ids = Object.keys(last.isolates.byId ?? {});
  const one = (id: string) => (s: Sample) => {
    const h = s.isolates?.byId?.[id];
    return h ? h.totalBytes + h.arrayBuffersBytes : 0;
  };
  const moves = ids.map((id) => ({ id, from: m(w, one(id)), to: m(e, one(id)), after: one(id)(last) })).sort((a, b) => Math.abs(b.to - b.from) - Math.abs(a.to - a.from));
  if (moves.length)
    out.push({ name: 'per isolate, heap total + ArrayBuffers, median (biggest change first)', value: moves.slice(0, 5).map((x) => `${x.id} ${mb(x.from)} -> ${mb(x.to)} (after ${mb(x.after)})`).join('; ') });
  return out;
}

/**
 * workerd: its native heap as tcmalloc counts it, read every 5 minutes (allocator.ts). `allocated` is what the
 * process holds from malloc; the free pages and cached objects tcmalloc keeps are resident but in use by nothing,
 * so RSS minus them is the memory in use. A leak of native objects grows `allocated`; memory kept after a busy
 * moment grows only the free part, and comes back when tcmalloc is asked to release it (done after the load).
 */
function allocatorFigures(samples: Sample[], warmS: number, endS: number): Check[] {
  const read = samples.filter((s) => s.allocator !== undefined);
  const nearest = (t: number, xs: Sample[]) => xs.reduce<Sample | undefined>((best, s) => (!best || Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best), undefined);
  const warm = nearest(warmS, read.filter((s) => s.t >= warmS - 60));
  const end = nearest(endS, read.filter((s) => s.t <= endS + 30));
  // The reading taken once the load stopped and settled (the run's last sample).
  const last = read.at(-1);
  const after = last && last !== end && last.t > endS ? last : undefined;
  if (!warm || !end || warm === end) return [];
  const free = (s: Sample) => freeBytes(s.allocator!);
  const inUse = (s: Sample) => s.rssBytes - free(s);
  const pct = (a: number, b: number) => `${b >= a ? '+' : ''}${((b / a - 1) * 100).toFixed(1)}%`;
  const at = `at ${warm.t} s -> ${end.t} s`;
  const allocated = (s: Sample) => s.allocator!.allocatedBytes;
  const out: Check[] = [
    { name: `native heap in use (tcmalloc allocated bytes) under load, ${at}`, value: `${mb(allocated(warm))} -> ${mb(allocated(end))} (${pct(allocated(warm), allocated(end))})` },
  ];
  // Under load the figure moves with what is in flight at that moment; what stays once the load is gone is the leak test.
  if (after)
    out.push({ name: `native heap in use after the load, against ${warm.t} s (< 10%)`, value: `${mb(allocated(warm))} -> ${mb(allocated(after))} (${pct(allocated(warm), allocated(after))})`, pass: allocated(after) / allocated(warm) - 1 < 0.1 });
  out.push(
    { name: `free memory tcmalloc keeps (free pages and caches of freed objects), ${at}`, value: `${mb(free(warm))} -> ${mb(free(end))}${after ? `; after the load ${mb(free(after))}` : ''}` },
    { name: `memory in use: RSS minus what tcmalloc keeps free, ${at}`, value: `${mb(inUse(warm))} -> ${mb(inUse(end))} (${pct(inUse(warm), inUse(end))})` },
  );
  if (after?.rssAfterReleaseBytes !== undefined)
    out.push({ name: 'RSS after the load, before -> after tcmalloc returned its free pages', value: `${mb(after.rssBytes)} -> ${mb(after.rssAfterReleaseBytes)} (RSS at ${warm.t} s: ${mb(warm.rssBytes)})` });
  return out;
}

/**
 * Where the RSS growth is: each part of the memory (resident by mapping kind; on Node also V8's heap spaces and
 * the memory outside the heap), median over the warm minute -> median over the last minute of the load -> the
 * last sample after the load. A part that grows and stays after the load is retained; one that grows only under
 * load is sized to the allocation rate.
 */
function memoryBreakdown(samples: Sample[], warmS: number, endS: number): Check[] {
  const parts: [string, (s: Sample) => number | undefined][] = [
    ['main malloc heap (brk)', (s) => s.resident?.brk],
    ['V8 pages (256 KiB mappings)', (s) => s.resident?.v8Pages],
    ['other anonymous (arenas, large objects, new space, stacks)', (s) => s.resident?.otherAnon],
    ['file-backed (binary, libraries)', (s) => s.resident?.file],
    ...['new', 'old', 'code', 'large_object', 'map', 'code_large_object', 'new_large_object', 'read_only', 'shared', 'trusted'].map(
      (space) => [`V8 ${space} space, size`, (s: Sample) => s.heapSpaces?.[space]?.total] as [string, (s: Sample) => number | undefined],
    ),
    ['external memory (Buffers, native objects)', (s) => s.externalBytes],
    ['ArrayBuffers', (s) => s.arrayBuffersBytes],
  ];
  const last = samples.at(-1);
  const out: Check[] = [];
  for (const [name, f] of parts) {
    const at = (a: number, b: number) => median(samples.filter((s) => s.t >= a && s.t <= b && f(s) !== undefined).map((s) => f(s)!));
    const [warm, end] = [at(warmS, warmS + 60), at(endS - 60, endS)];
    if (Number.isNaN(warm) || Number.isNaN(end) || !last || f(last) === undefined) continue;
    if (warm < 2 ** 20 && end < 2 ** 20) continue; // a space that stays empty
    out.push({ name: `${name}, median of the minute`, value: `${mb(warm)} -> ${mb(end)}; after the load ${mb(f(last)!)}` });
  }
  return out;
}

/** RSS per 5-minute block of the load (median and highest): growth that keeps going, or a plateau. */
function rssByBlock(samples: Sample[], endS: number): Check[] {
  const blockS = 300;
  if (endS < 2 * blockS) return [];
  const parts: string[] = [];
  for (let a = 0; a < endS; a += blockS) {
    const xs = samples.filter((s) => s.t > a && s.t <= a + blockS).map((s) => s.rssBytes);
    if (xs.length) parts.push(`${a / 60}-${(a + blockS) / 60} min ${(median(xs) / 2 ** 20).toFixed(0)}/${(Math.max(...xs) / 2 ** 20).toFixed(0)}`);
  }
  return [{ name: 'RSS per 5 minutes of load, median/highest (MiB)', value: parts.join(', ') }];
}

/**
 * The result's file stem: soak-<runtime>, then -direct for a Worker on its own socket, -without-<bindings> for a run
 * with --without, -aborts-<share> for a run with another --abort-share than the default and -no-faults for the load alone.
 */
export function resultName(r: Pick<SoakResult, 'runtime' | 'without' | 'abortShare' | 'direct' | 'noFaults'>): string {
  return `soak-${r.runtime}${r.direct ? '-direct' : ''}${r.without?.length ? `-without-${r.without.join('-').toLowerCase()}` : ''}${r.abortShare === undefined ? '' : `-aborts-${r.abortShare}`}${r.noFaults ? '-no-faults' : ''}`;
}
