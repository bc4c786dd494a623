// Egress policy: which URLs a tenant config may make the router call (backend URLs, the drift alert webhook).
// The router relays backend answers to the tenant, so a URL that reaches a cloud metadata service, a link-local
// address or the router's own admin port would hand the tenant what lives there.
//   always refused:  link-local (169.254/16, fe80::/10), cloud metadata hosts and addresses, multicast/broadcast,
//                    URLs with credentials (user:password@)
//   loopback:        only in local dev, or for hosts the tenant's `network.allowHosts` names
//   the router:      its own address:port never, not even in local dev
//   everything else: allowed (private ranges 10/8, 172.16/12, 192.168/16, fc00::/7 are where GPU backends live)
// Hosts are classified after WHATWG URL parsing, the same parser the upstream clients use, so numeric spellings
// (0x7f000001, 2130706433, 017700000001, [::ffff:127.0.0.1]) are judged as the address they reach. DNS names
// are judged by name: a name that resolves to a refused address is not caught here.
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

export interface HostPort {
  host: string;
  port: number;
}

/** What validation needs to know about the deployment; runtimes supply it (pure code takes it as an argument). */
export interface EgressContext {
  /** Local development (kvroute start, start:node, tests): loopback targets are allowed. */
  localDev: boolean;
  /** Addresses at which this router answers; never a backend or webhook target. */
  self: readonly HostPort[];
}

type HostClass = 'loopback' | 'link-local' | 'metadata' | 'not-unicast' | 'other';

/** Cloud instance-metadata services by name (GCP, Azure, AWS, Alibaba, Tencent, ...), subdomains included. */
const METADATA_NAMES = [
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.com',
  'metadata.azure.internal',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
  'metadata.platformequinix.com',
];
/** Metadata services at addresses outside the link-local range (AWS IPv6, Alibaba Cloud). */
const METADATA_ADDRESSES = new Set(['fd00:ec2::254', '100.100.100.200']);

/** Normalised hostname of a parsed URL: lower case, no IPv6 brackets, no trailing dot. */
function bareHost(hostname: string): string {
  let h = hostname.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** IPv6 forms that carry an IPv4 address a connection ends up at: mapped, compatible, NAT64 (RFC 6052). */
function embeddedIPv4(a: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = a.parts;
  const tail = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  if (a.isIPv4MappedAddress()) return a.toIPv4Address();
  if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) return tail();
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1)) return tail();
  return null;
}

/** An address (IPv4 or IPv6), or null for a DNS name. */
function addressOf(host: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(host)) return null;
  const a = ipaddr.parse(host);
  return a.kind() === 'ipv6' ? (embeddedIPv4(a as ipaddr.IPv6) ?? a) : a;
}

function classify(host: string): HostClass {
  const addr = addressOf(host);
  if (!addr) {
    if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
    return METADATA_NAMES.some((n) => host === n || host.endsWith(`.${n}`)) ? 'metadata' : 'other';
  }
  if (METADATA_ADDRESSES.has(addr.toString())) return 'metadata';
  switch (addr.range()) {
    case 'loopback':
    case 'unspecified': // 0.0.0.0/8 and :: connect to the local host
      return 'loopback';
    case 'linkLocal':
      return 'link-local';
    case 'multicast':
    case 'broadcast':
      return 'not-unicast';
    default:
      return 'other';
  }
}

/** A host in one canonical spelling, so that 2130706433, 127.0.0.1 and [::ffff:127.0.0.1] compare equal. */
function canonicalHost(host: string): string {
  const addr = addressOf(host);
  return addr ? addr.toString() : host;
}

function effectivePort(u: URL): number {
  if (u.port) return Number(u.port);
  return u.protocol === 'https:' ? 443 : 80;
}

/** The host and port a URL addresses (default ports filled in): how a router learns an address it answers at. */
export function hostPortOf(url: string): HostPort {
  const u = new URL(url);
  return { host: bareHost(u.hostname), port: effectivePort(u) };
}

/** Why a URL may never be a target, whatever the deployment; null when these rules allow it. */
export function alwaysRefused(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null; // the URL schema reports unparsable URLs
  }
  if (u.username || u.password) return 'must not contain credentials (user:password@); send backend credentials as apiKey';
  const host = bareHost(u.hostname);
  switch (classify(host)) {
    case 'metadata':
      return `'${host}' is a cloud metadata service; the router never calls it`;
    case 'link-local':
      return `'${host}' is a link-local address (169.254.0.0/16, fe80::/10), where metadata services live; the router never calls it`;
    case 'not-unicast':
      return `'${host}' is a multicast or broadcast address, not a host`;
    default:
      return null;
  }
}

/** Parses an allowHosts entry (`host` or `host:port`, IPv6 in brackets); null when it is not one. */
export function parseAllowedHost(entry: string): { host: string; port: number | null } | null {
  if (!/^[^/?#@\s]+$/.test(entry)) return null;
  let u: URL;
  try {
    u = new URL(`http://${entry}`);
  } catch {
    return null;
  }
  const explicitPort = /:\d+$/.test(entry);
  return { host: canonicalHost(bareHost(u.hostname)), port: explicitPort ? Number(entry.slice(entry.lastIndexOf(':') + 1)) : null };
}

/** Why an allowHosts entry is unacceptable, or null. */
export function allowedHostProblem(entry: string): string | null {
  const parsed = parseAllowedHost(entry);
  if (!parsed) return `'${entry}' is not a host or host:port`;
  const why = alwaysRefused(`http://${entry}`);
  return why ? `cannot open what is refused everywhere: ${why}` : null;
}

function isSelf(host: string, port: number, self: readonly HostPort[]): boolean {
  const loopback = classify(host) === 'loopback';
  const canonical = canonicalHost(host);
  return self.some((s) => {
    if (s.port !== port) return false;
    const selfHost = bareHost(s.host);
    // A router on a loopback or wildcard address answers on every loopback spelling of its port.
    if (loopback && classify(selfHost) === 'loopback') return true;
    return canonicalHost(selfHost) === canonical;
  });
}

/**
 * Why a URL may not be a target in this deployment, or null when it may. `ctx` null checks only the
 * deployment-independent rules. `allowHosts` is the tenant's `network.allowHosts`.
 */
export function egressRefusal(url: string, ctx: EgressContext | null, allowHosts: readonly string[] = []): string | null {
  const always = alwaysRefused(url);
  if (always || !ctx) return always;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const host = bareHost(u.hostname);
  const port = effectivePort(u);
  if (isSelf(host, port, ctx.self)) return `'${host}:${port}' is the router's own address; a backend or webhook must be another service`;
  if (classify(host) !== 'loopback' || ctx.localDev) return null;
  const canonical = canonicalHost(host);
  const allowed = allowHosts.some((e) => {
    const a = parseAllowedHost(e);
    return a !== null && a.host === canonical && (a.port === null || a.port === port);
  });
  return allowed
    ? null
    : `'${host}' is a loopback address, allowed only in local development (KVROUTE_LOCAL_DEV=1) or when the tenant lists it in network.allowHosts (e.g. "${u.host}")`;
}

/** An http(s) URL that may never reach a refused host: the type of every egress URL field in the config. */
export const egressUrlSchema = z.url({ protocol: /^https?$/, error: 'Invalid URL' }).superRefine((url, ctx) => {
  const why = alwaysRefused(url);
  if (why) ctx.addIssue({ code: 'custom', message: why });
});
