// The table of which signals each engine gives the router, rendered from the adapters themselves so that the docs
// (docs/engines.md, written by scripts/engines-doc.ts and checked by a test) cannot drift from the code.
import { ENGINE_ADAPTERS } from './index.ts';
import type { EngineAdapter, ReceiptSource } from './types.ts';

const code = (s: string) => `\`${s}\``;
const anyOf = (names: readonly string[]) => (names.length ? names.map(code).join(' or ') : '—');

const RECEIPT_FIELDS: Record<ReceiptSource, string> = {
  usage: code('usage.prompt_tokens_details.cached_tokens'),
  timings: `${code('timings.cache_n')} (of ${code('cache_n + prompt_n')})`,
};

function uncached(a: EngineAdapter): string {
  const u = a.metricNames.uncached;
  if (!u) return '—';
  return u.served ? `${anyOf(u.counted)} minus ${anyOf(u.served)}` : anyOf(u.counted);
}

/** One markdown table: a row per engine kind, a column per signal. */
export function engineSignalsTable(): string {
  const head = ['engine', 'health', 'load from', 'running', 'waiting', 'KV usage', 'uncached prompt tokens (counter)', 'cached tokens per response (read from)', 'slots'];
  const rows = Object.values(ENGINE_ADAPTERS).map((a) => [
    code(a.kind),
    code(`GET ${a.healthPath}`),
    a.metricsPath ? code(`GET ${a.metricsPath}`) + (a.metricsHint ? ` (${a.metricsHint})` : '') : 'its own in-flight count',
    anyOf(a.metricNames.running),
    anyOf(a.metricNames.waiting),
    anyOf(a.metricNames.kvUsage),
    uncached(a),
    a.receiptSources.map((s) => RECEIPT_FIELDS[s]).join(', else '),
    a.slotsPath ? code(`GET ${a.slotsPath}`) : '—',
  ]);
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
