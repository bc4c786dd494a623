// The soak's chart: memory, descriptors and throughput over time, one panel each, with the fault windows shaded.
// Drawn as SVG by Vega-Lite (compiled to a Vega view and rendered headless; no canvas or browser needed).
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../chart-svg.ts';
import type { FaultWindow } from './faults.ts';

export interface Series {
  /** Panel title and y-axis title. */
  title: string;
  /** Named lines: [seconds, value][]. */
  lines: Record<string, [number, number][]>;
}

/** An SVG document: one panel per series, sharing the time axis, with `windows` shaded in every panel. */
export async function soakChart(title: string, panels: Series[], windows: FaultWindow[], labelOf: (w: FaultWindow) => string): Promise<string> {
  const shaded = windows.map((w) => ({ from: w.fromMs / 1000, to: w.toMs / 1000, fault: labelOf(w) }));
  const panel = (s: Series) => ({
    width: 900,
    height: 180,
    title: { text: s.title, anchor: 'start' as const, fontSize: 12 },
    layer: [
      {
        data: { values: shaded.length ? shaded : [{ from: 0, to: 0, fault: 'none' }] },
        mark: { type: 'rect' as const, opacity: 0.18 },
        encoding: {
          x: { field: 'from', type: 'quantitative' as const, title: 'seconds since the load started' },
          x2: { field: 'to' },
          color: { field: 'fault', type: 'nominal' as const, title: 'fault', scale: { scheme: 'set2' } },
        },
      },
      {
        data: { values: Object.entries(s.lines).flatMap(([name, pts]) => pts.map(([t, v]) => ({ t, v, name }))) },
        mark: { type: 'line' as const, strokeWidth: 1.5, interpolate: 'linear' as const },
        encoding: {
          x: { field: 't', type: 'quantitative' as const },
          y: { field: 'v', type: 'quantitative' as const, title: s.title, scale: { zero: true } },
          stroke: { field: 'name', type: 'nominal' as const, title: 'series', scale: { scheme: 'dark2' } },
        },
      },
    ],
  });
  const spec = {
    title: { text: title, anchor: 'start', fontSize: 14 },
    vconcat: panels.map(panel),
    // One legend for the faults (the same in every panel), one for each panel's own lines.
    resolve: { scale: { stroke: 'independent' }, legend: { stroke: 'independent' } },
    config: { font: 'sans-serif', view: { stroke: '#ddd' } },
  } as unknown as TopLevelSpec;
  return renderSvg(spec);
}
