// `npx kvroute psi --expected a,b,c --actual x,y,z [--smoothing none|half|laplace|floor|evidently]`
// Prints the PSI of two bin vectors as JSON: value, per-bin terms, the shares compared, Jensen-Shannon, and the
// status by the 0.1 / 0.25 bands (with the chi-square guard when counts give the sample sizes).
import { num, parseFlags } from '../../src/util/args.ts';
import { criticalPsi } from '../../src/drift/report.ts';
import { SMOOTHINGS, type Smoothing } from '../../src/config/drift-vocabulary.ts';
import { classify, jsDivergence, psi } from '../../src/drift/psi.ts';

const USAGE = `usage: kvroute psi --expected a,b,c --actual x,y,z [options]

  --expected      baseline bins: counts or shares, comma-separated
  --actual        current bins, same number of bins
  --smoothing     ${SMOOTHINGS.join('|')} (default none; half = +0.5 per bin, needs counts;
                  floor = empty shares become 1e-4)
  --as            counts|shares (default: shares when each vector sums to 1, counts otherwise)
  --alpha         false-alarm rate of the chi-square guard, for counts (default 0.01)
  --min-count     below this many observations on either side: insufficient_data (default 1)`;

function parseVector(name: string, text: string | undefined): number[] {
  if (text === undefined) throw new Error(`--${name} is required\n\n${USAGE}`);
  const values = text.split(',').map((s) => s.trim());
  const out = values.map(Number);
  const bad = values.findIndex((s, i) => s === '' || !Number.isFinite(out[i]) || out[i]! < 0);
  if (bad >= 0) throw new Error(`--${name}: value ${bad + 1} ('${values[bad]}') is not a non-negative number`);
  return out;
}

const sumsToOne = (v: number[]) => Math.abs(v.reduce((s, x) => s + x, 0) - 1) < 1e-6;

export async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, {
    expected: { type: 'string' },
    actual: { type: 'string' },
    smoothing: { type: 'string' },
    as: { type: 'string' },
    alpha: { type: 'string' },
    'min-count': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const expected = parseVector('expected', flags.expected);
  const actual = parseVector('actual', flags.actual);
  if (expected.length !== actual.length) throw new Error(`--expected has ${expected.length} bins but --actual has ${actual.length}`);
  const smoothing = (flags.smoothing ?? 'none') as Smoothing;
  if (!SMOOTHINGS.includes(smoothing)) throw new Error(`--smoothing must be one of ${SMOOTHINGS.join(', ')}, got '${flags.smoothing}'`);
  const input = flags.as ?? (sumsToOne(expected) && sumsToOne(actual) ? 'shares' : 'counts');
  if (input !== 'counts' && input !== 'shares') throw new Error(`--as must be counts or shares, got '${input}'`);
  const alpha = num('alpha', flags.alpha, 0.01);
  const minCount = num('min-count', flags['min-count'], 1);

  const result = psi(expected, actual, { input, smoothing });
  if (!Number.isFinite(result.psi)) {
    const side = result.expected.some((e) => e === 0) ? 'expected' : 'actual';
    throw new Error(`a bin of --${side} is empty, so PSI is infinite without smoothing: pass --smoothing half (counts) or --smoothing floor`);
  }
  const sum = (v: number[]) => v.reduce((s, x) => s + x, 0);
  const counts = input === 'counts';
  const n = counts ? sum(actual) : null;
  const m = counts ? sum(expected) : null;
  const crit = counts ? criticalPsi(expected.length, n!, m!, alpha) : null;
  const status = classify(result.psi, crit ?? 0, n ?? Infinity, m ?? Infinity, minCount);
  console.log(
    JSON.stringify(
      { psi: result.psi, status, smoothing, input, bins: expected.length, n, m, crit, js: jsDivergence(expected, actual), terms: result.terms, expected: result.expected, actual: result.actual },
      null,
      2,
    ),
  );
  return 0;
}
