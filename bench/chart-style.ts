// Colours shared by the routing charts (plot-routing.ts, plot-agentic.ts): one per policy, so a policy has the
// same colour in every chart.
export const POLICY_COLORS: Record<string, string> = {
  'prefix-affinity': '#d62728',
  'cache-aware': '#1f77b4',
  rendezvous: '#2ca02c',
  'consistent-hash': '#9467bd',
  'least-loaded': '#ff7f0e',
  'round-robin': '#7f7f7f',
  random: '#bcbd22',
};
const OTHER = '#1e1e1e';

/** How a chart names a policy: the default one says so. */
export const policyLabel = (p: string): string => (p === 'prefix-affinity' ? 'prefix-affinity (default)' : p);

/** A Vega-Lite colour scale that gives each of `policies` (by its label) its colour, in this order. */
export function policyColorScale(policies: readonly string[]): { domain: string[]; range: string[] } {
  return { domain: policies.map(policyLabel), range: policies.map((p) => POLICY_COLORS[p] ?? OTHER) };
}
