/** Reference solutions in float64 for the least-squares tests: linear systems, and small sign-constrained problems by brute force. */

/** Solves A x = b (A symmetric positive definite) by Gaussian elimination with partial pivoting, in float64. */
export function solveLinear(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(M[i]![c]!) > Math.abs(M[p]![c]!)) p = i;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let i = c + 1; i < n; i++) {
      const f = M[i]![c]! / M[c]![c]!;
      for (let j = c; j <= n; j++) M[i]![j]! -= f * M[c]![j]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = M[i]![n]!;
    for (let j = i + 1; j < n; j++) s -= M[i]![j]! * x[j]!;
    x[i] = s / M[i]![i]!;
  }
  return x;
}

/**
 * min ½ aᵀ G a − bᵀ a over a with a_j ≥ 0 where s_j > 0, a_j ≤ 0 where s_j < 0
 * and a_j = 0 where s_j = 0, by trying every support.
 */
export function bruteForceSigned(G: number[][], b: number[], signs: number[]): number[] {
  const n = b.length;
  const free = signs.map((s, j) => (s !== 0 ? j : -1)).filter((j) => j >= 0);
  let best: number[] | null = null;
  let bestValue = Infinity;
  for (let mask = 0; mask < 1 << free.length; mask++) {
    const S = free.filter((_, i) => mask & (1 << i));
    const x = new Array<number>(n).fill(0);
    if (S.length) {
      const xs = solveLinear(
        S.map((i) => S.map((j) => G[i]![j]!)),
        S.map((i) => b[i]!),
      );
      S.forEach((j, k) => (x[j] = xs[k]!));
    }
    if (S.some((j) => signs[j]! * x[j]! < 0)) continue;
    const value = 0.5 * x.reduce((a, xi, i) => a + xi * G[i]!.reduce((c, g, j) => c + g * x[j]!, 0), 0) - b.reduce((a, bi, i) => a + bi * x[i]!, 0);
    if (value < bestValue) [best, bestValue] = [x, value];
  }
  return best!;
}
