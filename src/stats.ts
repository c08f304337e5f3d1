/** Rank statistics for experiment reports. */

/** Ranks 1 … n of the values, ties sharing their mean rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Pearson's correlation; NaN when either list is constant or shorter than 2. */
export function pearson(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`pearson: lists of ${x.length} and ${y.length} values`);
  const n = x.length;
  if (n < 2) return NaN;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

/**
 * Spearman's rank correlation ρ: Pearson's correlation of the ranks (ties at
 * their mean rank), over the pairs where both values are finite.
 */
export function spearman(x: readonly number[], y: readonly number[]): { rho: number; n: number } {
  if (x.length !== y.length) throw new Error(`spearman: lists of ${x.length} and ${y.length} values`);
  const keep = x.map((_, i) => i).filter((i) => Number.isFinite(x[i]) && Number.isFinite(y[i]));
  return { rho: pearson(ranks(keep.map((i) => x[i]!)), ranks(keep.map((i) => y[i]!))), n: keep.length };
}
