// Reads sample values out of Prometheus text exposition (format 0.0.4), only for the metric names asked for.
// Enough for load gauges: it ignores HELP/TYPE lines, timestamps and label values, and tolerates anything else.

/** Every sample value of each wanted metric (one per label set), by name. */
export function readSamples(text: string, names: readonly string[]): Map<string, number[]> {
  const wanted = new Set(names);
  const out = new Map<string, number[]>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const nameEnd = brace >= 0 && (space < 0 || brace < space) ? brace : space;
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!wanted.has(name)) continue;
    const afterLabels = brace === nameEnd ? line.indexOf('}', brace) + 1 : nameEnd;
    if (afterLabels <= 0) continue;
    const value = Number(line.slice(afterLabels).trim().split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

/** Sum over label sets of the first name in `names` that is present (e.g. per-engine gauges of one server). */
export function sumOf(samples: Map<string, number[]>, names: readonly string[]): number | undefined {
  for (const n of names) {
    const v = samples.get(n);
    if (v) return v.reduce((a, b) => a + b, 0);
  }
  return undefined;
}

/** Mean over label sets of the first name in `names` that is present (for fractions such as KV usage). */
export function meanOf(samples: Map<string, number[]>, names: readonly string[]): number | undefined {
  for (const n of names) {
    const v = samples.get(n);
    if (v) return v.reduce((a, b) => a + b, 0) / v.length;
  }
  return undefined;
}
