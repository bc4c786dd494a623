// The Node router's /metrics also describes the process itself (memory, open handles), so a soak or a scraper can
// watch for leaks without a debugger attached.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeRouter, type NodeRouter } from '../../../routes/node.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';

const TOKEN = 'process-metrics-admin-token-0123456789abcdef';
let router: NodeRouter;

beforeAll(async () => {
  router = await startNodeRouter({ store: new MemoryTenantStore(), probes: false, adminToken: TOKEN, localDev: true });
});
afterAll(() => router?.close());

/** The value of the sample `name` (with its labels, if any) in Prometheus text. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('/metrics on Node', () => {
  it('has the process memory and open handles as gauges', async () => {
    const res = await fetch(`${router.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
    const used = sample(text, 'nodejs_heap_size_used_bytes')!;
    expect(used).toBeGreaterThan(1e6);
    expect(sample(text, 'nodejs_heap_size_total_bytes')).toBeGreaterThanOrEqual(used);
    expect(sample(text, 'nodejs_external_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_array_buffers_bytes')).toBeGreaterThanOrEqual(0);
    // Per V8 space, so a growing heap total can be pinned on a generation.
    for (const space of ['new', 'old', 'code', 'large_object']) {
      const total = sample(text, `nodejs_heap_space_size_total_bytes{space="${space}"}`);
      expect(total, space).toBeGreaterThanOrEqual(0);
      expect(sample(text, `nodejs_heap_space_size_used_bytes{space="${space}"}`), space).toBeLessThanOrEqual(total!);
    }
    expect(sample(text, 'nodejs_heap_space_size_total_bytes{space="old"}')).toBeGreaterThan(1e6);
    // This very request holds a TCP socket and the server listens on one.
    expect(sample(text, 'nodejs_active_resources{type="TCPServerWrap"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'nodejs_active_resources{type="TCPSocketWrap"}')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# TYPE nodejs_active_resources gauge');
  });

  it('still needs the admin token', async () => {
    expect((await fetch(`${router.url}/metrics`)).status).toBe(401);
  });
});
