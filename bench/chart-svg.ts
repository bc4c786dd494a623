// Every benchmark chart is a Vega-Lite spec drawn to SVG here: compiled to Vega and rendered headless (no canvas,
// no browser, no fonts to ship). The charts' shared colours are in chart-style.ts.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The SVG document of a Vega-Lite spec, with a trailing newline. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}
