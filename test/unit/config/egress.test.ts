// Where a tenant config may send the router's requests: backend URLs and the drift alert webhook go through one
// egress policy. Link-local and metadata addresses and URLs with credentials are refused in every deployment;
// loopback only in local dev or for hosts the tenant's `network.allowHosts` names; the router itself never.
import { describe, expect, it } from 'vitest';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import type { EgressContext } from '../../../src/config/egress.ts';

const PROD: EgressContext = { localDev: false, self: [{ host: '10.1.2.3', port: 8787 }] };
const DEV: EgressContext = { localDev: true, self: [{ host: '127.0.0.1', port: 8787 }] };

const withBackend = (url: string, extra: Record<string, unknown> = {}) => ({
  models: { m: { pool: 'p' } },
  pools: { p: { backends: [{ id: 'b', url }] } },
  ...extra,
});
const withWebhook = (url: string) => ({ ...withBackend('http://10.0.0.5:8000'), drift: { alertWebhook: url } });

function problemsOf(input: unknown, ctx?: EgressContext): string[] {
  const r = parseTenantConfig(input, ctx);
  return r.ok ? [] : r.problems;
}

const ALWAYS_REFUSED = [
  'http://169.254.169.254/latest/meta-data/',
  'http://169.254.170.2/v2/credentials',
  'http://[fd00:ec2::254]/latest/meta-data/',
  'http://[fe80::1]:8000',
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://metadata.google.internal./computeMetadata/v1/',
  'http://METADATA.GOOGLE.INTERNAL/',
  'http://metadata/computeMetadata/v1/',
  'http://metadata.azure.com/metadata/instance',
  'http://100.100.100.200/latest/meta-data/',
  'http://0xa9fea9fe/',
  'http://2852039166/',
  'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:a9fe:a9fe]/',
  'http://[64:ff9b::a9fe:a9fe]/',
  'http://user:secret@10.0.0.5:8000',
  'http://token@gpu.example.com',
  'http://224.0.0.1:8000',
];

const LOOPBACK = [
  'http://127.0.0.1:9000',
  'http://127.8.9.10:9000',
  'http://localhost:9000',
  'http://api.localhost:9000',
  'http://[::1]:9000',
  'http://0x7f000001:9000',
  'http://2130706433:9000',
  'http://017700000001:9000',
  'http://127.1:9000',
  'http://[::ffff:127.0.0.1]:9000',
  'http://0.0.0.0:9000',
  'http://0:9000',
  'http://[::]:9000',
];

describe('egress policy for backend and webhook URLs', () => {
  it.each(ALWAYS_REFUSED)('refuses %s as a backend in every deployment, also in local dev', (url) => {
    for (const ctx of [undefined, PROD, DEV]) {
      const problems = problemsOf(withBackend(url), ctx);
      expect(problems.some((p) => p.startsWith('pools.p.backends[0].url:')), `${url} ${JSON.stringify(ctx)}`).toBe(true);
    }
  });

  it.each(ALWAYS_REFUSED)('refuses %s as the drift alert webhook', (url) => {
    expect(problemsOf(withWebhook(url), DEV).some((p) => p.startsWith('drift.alertWebhook:'))).toBe(true);
  });

  it.each(LOOPBACK)('refuses loopback %s outside local dev, allows it in local dev', (url) => {
    const problems = problemsOf(withBackend(url), PROD);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^pools\.p\.backends\[0\]\.url: .*loopback.*network\.allowHosts/);
    expect(problemsOf(withBackend(url), DEV)).toEqual([]);
    expect(problemsOf(withWebhook(url.replace('9000', '9001')), PROD)[0]).toMatch(/^drift\.alertWebhook: .*loopback/);
  });

  it('allows private ranges, carrier-grade NAT, public addresses and names in production', () => {
    for (const url of ['http://10.0.0.5:8000', 'http://172.16.4.2:8000', 'http://192.168.1.20', 'http://[fd12:3456::7]:8000', 'http://100.64.0.9:8000', 'https://gpu.example.com/v1', 'http://8.8.8.8']) {
      expect(problemsOf(withBackend(url), PROD), url).toEqual([]);
    }
  });

  it('lets network.allowHosts open a named loopback host (and port) outside local dev, nothing else', () => {
    const allowed = withBackend('http://127.0.0.1:8000', { network: { allowHosts: ['127.0.0.1:8000'] } });
    expect(problemsOf(allowed, PROD)).toEqual([]);
    const otherPort = withBackend('http://127.0.0.1:8001', { network: { allowHosts: ['127.0.0.1:8000'] } });
    expect(problemsOf(otherPort, PROD)).toHaveLength(1);
    const anyPort = withBackend('http://localhost:8001', { network: { allowHosts: ['localhost'] } });
    expect(problemsOf(anyPort, PROD)).toEqual([]);
    // The allowlist cannot open what is refused everywhere.
    const metadata = withBackend('http://169.254.169.254', { network: { allowHosts: ['169.254.169.254'] } });
    const problems = problemsOf(metadata, PROD);
    expect(problems.some((p) => p.startsWith('network.allowHosts[0]:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('pools.p.backends[0].url:'))).toBe(true);
    expect(problemsOf(withBackend('http://10.0.0.5', { network: { allowHosts: ['http://x/'] } }), PROD)[0]).toMatch(/^network\.allowHosts\[0\]:/);
  });

  it("never accepts the router's own address, in any of its spellings, even in local dev or on the allowlist", () => {
    for (const url of ['http://127.0.0.1:8787', 'http://localhost:8787/v1', 'http://[::1]:8787', 'http://2130706433:8787']) {
      const problems = problemsOf(withBackend(url, { network: { allowHosts: ['127.0.0.1', 'localhost', '[::1]'] } }), DEV);
      expect(problems, url).toHaveLength(1);
      expect(problems[0]).toMatch(/router's own address/);
    }
    expect(problemsOf(withBackend('http://10.1.2.3:8787'), PROD)[0]).toMatch(/router's own address/);
    // Another port on the same host is another service.
    expect(problemsOf(withBackend('http://10.1.2.3:8000'), PROD)).toEqual([]);
    // A router listening on every interface owns that port on loopback too.
    const wildcard: EgressContext = { localDev: true, self: [{ host: '0.0.0.0', port: 9999 }] };
    expect(problemsOf(withBackend('http://127.0.0.1:9999'), wildcard)[0]).toMatch(/router's own address/);
    // Default ports count: https://router.example.com is port 443.
    const named: EgressContext = { localDev: false, self: [{ host: 'router.example.com', port: 443 }] };
    expect(problemsOf(withBackend('https://Router.Example.com./v1'), named)[0]).toMatch(/router's own address/);
  });
});
