/**
 * Fitness shaping for evolution strategies. biocredit's ES minimise: a
 * member's fitness is its loss (lower is better), and every shaping maps the
 * P fitness values to P numbers in the same direction (larger = worse), so an
 * estimate built from them points uphill, like a gradient.
 *
 * - centered-rank (Salimans et al. 2017): rank 0 for the lowest loss … P − 1
 *   for the highest, then rank/(P − 1) − ½, in [−½, ½]. Ties are broken by
 *   member index, so the result is a permutation of the same values.
 * - nes-utilities (Wierstra et al. 2014): sorted best first, k = 1…P,
 *   u_k = max(0, ln(P/2 + 1) − ln k) / Σ_j max(0, ln(P/2 + 1) − ln j) − 1/P;
 *   the shaped value is −u_k (the best members get the most negative values).
 * - z-score: (F − mean F) / std F (population std; all 0 when every F is equal).
 * - raw: F itself (with antithetic pairs, the plain finite-difference estimate).
 */
export const SHAPINGS = ['centered-rank', 'nes-utilities', 'z-score', 'raw'] as const;
export type Shaping = (typeof SHAPINGS)[number];

/** Member indices from the lowest fitness to the highest (ties by index). */
export function ascending(fitness: ArrayLike<number>): number[] {
  return Array.from({ length: fitness.length }, (_, i) => i).sort((a, b) => fitness[a]! - fitness[b]! || a - b);
}

export function shape(fitness: ArrayLike<number>, how: Shaping): Float64Array {
  const P = fitness.length;
  const out = new Float64Array(P);
  switch (how) {
    case 'centered-rank': {
      ascending(fitness).forEach((member, rank) => (out[member] = P > 1 ? rank / (P - 1) - 0.5 : 0));
      return out;
    }
    case 'nes-utilities': {
      const raw = Array.from({ length: P }, (_, k) => Math.max(0, Math.log(P / 2 + 1) - Math.log(k + 1)));
      const total = raw.reduce((a, b) => a + b, 0);
      ascending(fitness).forEach((member, k) => (out[member] = -(raw[k]! / total - 1 / P)));
      return out;
    }
    case 'z-score': {
      let mean = 0;
      for (let i = 0; i < P; i++) mean += fitness[i]! / P;
      let variance = 0;
      for (let i = 0; i < P; i++) variance += (fitness[i]! - mean) ** 2 / P;
      const std = Math.sqrt(variance);
      for (let i = 0; i < P; i++) out[i] = std > 0 ? (fitness[i]! - mean) / std : 0;
      return out;
    }
    case 'raw':
      for (let i = 0; i < P; i++) out[i] = fitness[i]!;
      return out;
  }
}
