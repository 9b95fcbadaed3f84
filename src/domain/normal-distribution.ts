/**
 * The standard normal distribution, for the ready-time models (domain/prep-time.ts, dispatch/ready-estimate.ts).
 * jstat (zero dependencies) computes it to ~1e-9; one module so the two models cannot drift apart.
 */
import jstat from 'jstat';

const { normal } = jstat.jStat;

/** Standard normal cumulative distribution. */
export function normalCdf(z: number): number {
  return normal.cdf(z, 0, 1);
}

/** Standard normal quantile, p in (0, 1); −∞ / +∞ at and beyond the ends. */
export function normalQuantile(p: number): number {
  if (!(p > 0)) return -Infinity;
  if (p >= 1) return Infinity;
  return normal.inv(p, 0, 1);
}
