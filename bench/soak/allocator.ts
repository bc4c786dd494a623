// workerd's native allocator, read from outside: workerd links Google's tcmalloc statically, and tcmalloc keeps
// memory it has freed for reuse instead of returning it to the kernel, so RSS alone cannot tell native memory that
// is still in use from memory that was in use at the busiest moment. gdb attaches for about two seconds (the
// process is paused meanwhile), calls tcmalloc's MallocExtension C entry points and detaches.
// Needs gdb (`apt-get install gdb`) and ptrace rights over the process; without them the readings are undefined.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface AllocatorStats {
  /** Bytes the program holds from malloc now (tcmalloc's generic.current_allocated_bytes). */
  allocatedBytes: number;
  /** Bytes tcmalloc has from the kernel, in use or not (generic.heap_size). */
  heapBytes: number;
  /** Pages tcmalloc has returned to the kernel (tcmalloc.pageheap_unmapped_bytes). */
  unmappedBytes: number;
}

/**
 * What tcmalloc has from the kernel and has not given back, less what the program holds: its free pages and the
 * per-thread, per-CPU, transfer and central caches of freed objects.
 */
export function freeBytes(s: AllocatorStats): number {
  return s.heapBytes - s.unmappedBytes - s.allocatedBytes;
}

const PROPERTIES: [keyof AllocatorStats, string][] = [
  ['allocatedBytes', 'generic.current_allocated_bytes'],
  ['heapBytes', 'generic.heap_size'],
  ['unmappedBytes', 'tcmalloc.pageheap_unmapped_bytes'],
];

/** Runs gdb's `commands` inside `pid` and returns what they printed; undefined when gdb is missing or fails. */
async function inProcess(pid: number, commands: string[]): Promise<string | undefined> {
  const script = join(os.tmpdir(), `kvroute-allocator-${process.pid}.gdb`);
  writeFileSync(script, ['set pagination off', 'set confirm off', ...commands, 'detach', 'quit', ''].join('\n'));
  try {
    const { stdout } = await promisify(execFile)('gdb', ['-q', '-batch', '-nx', '-p', String(pid), '-x', script], { timeout: 60_000, maxBuffer: 16 * 2 ** 20 });
    return stdout;
  } catch {
    return undefined;
  }
}

/** tcmalloc's own account of `pid`'s native heap. */
export async function allocatorStats(pid: number): Promise<AllocatorStats | undefined> {
  const out = await inProcess(pid, [
    'set $kvr_value = (unsigned long*)malloc(8)',
    ...PROPERTIES.flatMap(([key, property]) => [
      `set $kvr_ok = (char)MallocExtension_Internal_GetNumericProperty("${property}", ${property.length}, $kvr_value)`,
      `printf "kvroute-allocator ${key} %d %lu\\n", $kvr_ok, *$kvr_value`,
    ]),
    'call (void)free($kvr_value)',
  ]);
  if (out === undefined) return undefined;
  const stats: Partial<AllocatorStats> = {};
  for (const m of out.matchAll(/^kvroute-allocator (\w+) 1 (\d+)$/gm)) stats[m[1] as keyof AllocatorStats] = Number(m[2]);
  return PROPERTIES.every(([key]) => stats[key] !== undefined) ? (stats as AllocatorStats) : undefined;
}

/** Asks tcmalloc to return every free page to the kernel (what it would keep for reuse otherwise). */
export async function releaseFreeMemory(pid: number): Promise<boolean> {
  const out = await inProcess(pid, ['call (void)MallocExtension_Internal_ReleaseMemoryToSystem((unsigned long)-1)', 'printf "kvroute-allocator released\\n"']);
  return out?.includes('kvroute-allocator released') ?? false;
}
