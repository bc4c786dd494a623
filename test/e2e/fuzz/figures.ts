// The run's figures per runtime: what was sent, who answered, protocol-level answers (listed), and every
// property violation grouped with its first example.
import type { FuzzRequest } from './arbitraries.ts';
import type { Outcome } from './client.ts';
import { describeRequest, type Source, type Verdict } from './judge.ts';

export interface Group {
  count: number;
  /** The first few inputs that fell into the group. */
  examples: string[];
}

const EXAMPLES = 3;

export class Figures {
  generated = 0;
  batches = 0;
  via = { undici: 0, raw: 0 };
  bySource: Record<Source, number> = { kvroute: 0, relayed: 0, protocol: 0, 'upstream-5xx': 0, closed: 0, hang: 0 };
  /** `source status` -> count, e.g. `kvroute 400`. */
  statuses = new Map<string, number>();
  protocol = new Map<string, Group>();
  violations = new Map<string, Group>();
  relayedNonOpenAi = 0;
  /** Time to the answer or the close, per request (for the spread, and the slowest few by generator). */
  times: { ms: number; what: string }[] = [];

  constructor(readonly runtime: string) {}

  private bump(map: Map<string, Group>, key: string, example: () => string): void {
    const g = map.get(key);
    if (!g) map.set(key, { count: 1, examples: [example()] });
    else if (++g.count <= EXAMPLES) g.examples.push(example());
  }

  add(r: FuzzRequest, o: Outcome, v: Verdict): void {
    this.generated++;
    this.via[o.via]++;
    this.bySource[v.source]++;
    this.times.push({ ms: o.ms, what: `${r.what} [${r.framing}] -> ${v.source}${o.kind === 'answered' ? ` ${o.answer.status}` : ''}` });
    if (o.kind === 'answered') {
      const key = `${v.source} ${o.answer.status}`;
      this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    }
    if (v.relayedNonOpenAi) this.relayedNonOpenAi++;
    if (v.signature) this.bump(this.protocol, v.signature, () => describeRequest(r));
    for (const x of v.violations) this.violation(x.property, x.message, () => `${x.message}\n      request: ${describeRequest(r)}`);
  }

  /** Groups by property and the message with numbers and quoted text blanked, so one defect is one line. */
  violation(property: string, message: string, example: () => string): void {
    const shape = message.replace(/"[^"]*"|'[^']*'/g, '…').replace(/\d+(\.\d+)?/g, 'N').slice(0, 120);
    this.bump(this.violations, `${property}: ${shape}`, example);
  }

  count(prefix: string): number {
    let n = 0;
    for (const [k, g] of this.violations) if (k.startsWith(prefix)) n += g.count;
    return n;
  }

  private spread(): string {
    const t = [...this.times].sort((x, y) => x.ms - y.ms);
    if (!t.length) return '-';
    const at = (q: number) => Math.round(t[Math.min(t.length - 1, Math.floor(q * t.length))]!.ms);
    const slow = t.slice(-3).reverse().map((x) => `${Math.round(x.ms)} ms ${x.what}`);
    return `p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms; slowest: ${slow.join('; ')}`;
  }

  report(extra: string[] = []): string {
    const lines = [
      `== fuzz figures, ${this.runtime}`,
      `requests generated: ${this.generated} in ${this.batches} batches (undici ${this.via.undici}, raw socket ${this.via.raw})`,
      `answered by kvroute ${this.bySource.kvroute}, relayed from a backend ${this.bySource.relayed}, protocol-level ${this.bySource.protocol}, simulator's own 5xx ${this.bySource['upstream-5xx']}, closed without an answer ${this.bySource.closed} (allowed cases only), hangs ${this.bySource.hang}`,
      `5xx from kvroute's own code: ${this.count('a:')}; hangs: ${this.count('b: hang')}; dropped well-formed requests: ${this.count('b: dropped')}; non-OpenAI kvroute error bodies: ${this.count('c:')}; cross-tenant: ${this.count('e:')}; others not served / in-flight not 0 after a batch: ${this.count('d:')}`,
      `listed, not failed: relayed backend error bodies that are not OpenAI-shaped: ${this.relayedNonOpenAi}`,
      `time to answer or close: ${this.spread()}`,
      `statuses: ${[...this.statuses].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k}: ${n}`).join(', ')}`,
      `protocol-level answers (${this.bySource.protocol}):`,
      ...[...this.protocol].map(([sig, g]) => `  ${g.count} x ${sig}\n      e.g. ${g.examples[0]!.slice(0, 400)}`),
      ...extra,
      `violations (${[...this.violations.values()].reduce((n, g) => n + g.count, 0)}):`,
      ...[...this.violations].map(([k, g]) => `  ${g.count} x ${k}${g.examples.map((e) => `\n      e.g. ${e.slice(0, 1_500)}`).join('')}`),
    ];
    return lines.join('\n');
  }
}
