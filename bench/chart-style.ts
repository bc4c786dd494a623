// Colours shared by the routing lab's charts (plot-routing.ts, plot-agentic.ts): one per policy, ink and grid.
import type { Rgb } from './png.ts';

export const POLICY_COLORS: Record<string, Rgb> = {
  'prefix-affinity': [214, 39, 40],
  'cache-aware': [31, 119, 180],
  rendezvous: [44, 160, 44],
  'consistent-hash': [148, 103, 189],
  'least-loaded': [255, 127, 14],
  'round-robin': [127, 127, 127],
  random: [188, 189, 34],
};
export const INK: Rgb = [30, 30, 30];
export const GRID: Rgb = [225, 225, 225];
