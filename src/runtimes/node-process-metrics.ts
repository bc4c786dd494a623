// Prometheus gauges about the Node router process itself: memory and the handles it holds open. A leak of
// memory, sockets or timers shows here over time (bench/soak watches them). Names follow prom-client's defaults.
import { getHeapSpaceStatistics } from 'node:v8';

/** Gauge lines (with HELP and TYPE) for this process, read when called. */
export function nodeProcessMetrics(): string[] {
  const m = process.memoryUsage();
  const lines = [
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', m.rss),
    gauge('nodejs_heap_size_total_bytes', 'V8 heap size in bytes.', m.heapTotal),
    gauge('nodejs_heap_size_used_bytes', 'V8 heap used in bytes.', m.heapUsed),
    gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects, in bytes.', m.external),
    gauge('nodejs_array_buffers_bytes', 'Memory of ArrayBuffers and SharedArrayBuffers, in bytes.', m.arrayBuffers),
  ].flat();
  // Per V8 heap space (new, old, code, large objects ...): which generation grows when the heap total does.
  const spaces = getHeapSpaceStatistics();
  const perSpace = (name: string, help: string, value: (s: (typeof spaces)[number]) => number) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} gauge`,
    ...spaces.map((s) => `${name}{space="${s.space_name.replace(/_space$/, '')}"} ${value(s)}`),
  ];
  lines.push(
    ...perSpace('nodejs_heap_space_size_total_bytes', 'Size of a V8 heap space in bytes.', (s) => s.space_size),
    ...perSpace('nodejs_heap_space_size_used_bytes', 'Used size of a V8 heap space in bytes.', (s) => s.space_used_size),
  );
  // Sockets, servers, timers, file handles ... that keep the event loop alive, by kind.
  const byType = new Map<string, number>();
  for (const t of process.getActiveResourcesInfo()) byType.set(t, (byType.get(t) ?? 0) + 1);
  lines.push('# HELP nodejs_active_resources Resources that keep the event loop alive, by type.', '# TYPE nodejs_active_resources gauge');
  for (const [t, n] of [...byType].sort()) lines.push(`nodejs_active_resources{type="${t.replace(/["\\\n]/g, '_')}"} ${n}`);
  return lines;
}

function gauge(name: string, help: string, value: number): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`];
}
