// Chi-square distribution: CDF through the regularized lower incomplete gamma function (series / continued
// fraction, Numerical Recipes 6.2) and the quantile by bisection on it. Accurate to ~1e-10 for any df, so the
// small-sample guard does not depend on a table or on Wilson-Hilferty's error at small df.

const EPS = 1e-15;
const MAX_ITER = 1000;

/** ln Gamma(x) for x > 0 (Lanczos, g = 7, n = 9; |error| < 1e-15 relative). */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  x -= 1;
  // c[0] + sum_{i>=1} c[i] / (x + i), added in the same order as a loop would.
  const a = c.reduce((sum, ci, i) => sum + (i === 0 ? ci : ci / (x + i)), 0);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  const lnPrefix = a * Math.log(x) - x - lnGamma(a);
  if (x < a + 1) {
    // Series: P = e^-x x^a / Gamma(a+1) * sum x^n / ((a+1)...(a+n)).
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < MAX_ITER; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return sum * Math.exp(lnPrefix);
  }
  // Continued fraction for Q = 1 - P (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return 1 - Math.exp(lnPrefix) * h;
}

/** P(X <= x) for X ~ chi-square with df degrees of freedom. */
export function chi2Cdf(x: number, df: number): number {
  return gammaP(df / 2, x / 2);
}

/** The p-quantile of chi-square(df), e.g. chi2Quantile(0.99, 9) = 21.666. */
export function chi2Quantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`df must be > 0, got ${df}`);
  let lo = 0;
  let hi = Math.max(1, df);
  while (chi2Cdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (chi2Cdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
