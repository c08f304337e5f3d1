/**
 * symEigenvalues (Householder tridiagonalisation + Sturm bisection) against
 * spectra known by construction, the 2 × 2 closed form, and the Jacobi solver.
 */
import { describe, expect, it } from 'vitest';
import { symEig, symEigenvalues } from '../../src/linalg.js';
import { Rng } from '../../src/rng.js';

/** Q D Qᵀ with Q = I − 2uuᵀ/uᵀu, an exactly orthogonal reflection: its eigenvalues are D. */
function withSpectrum(d: number[], rng: Rng): number[][] {
  const n = d.length;
  const u = Array.from({ length: n }, () => rng.normal());
  const uu = u.reduce((a, x) => a + x * x, 0);
  const q = (i: number, j: number) => (i === j ? 1 : 0) - (2 * u[i]! * u[j]!) / uu;
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => d.reduce((s, l, k) => s + q(i, k) * l * q(j, k), 0)));
}

const sortedDown = (xs: number[]) => [...xs].sort((a, b) => b - a);

describe('symEigenvalues', () => {
  it('returns a spectrum built in, repeated and negative eigenvalues included, largest first', () => {
    const rng = new Rng('linalg-spectrum');
    const d = [5, -3, 2, 2, 0, 1e-3, 7.5, -0.25];
    const values = symEigenvalues(withSpectrum(d, rng));
    const expected = sortedDown(d);
    values.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-12 * 7.5));
  });

  it('matches the 2 × 2 closed form (a + c)/2 ± √(((a − c)/2)² + b²)', () => {
    const [a, b, c] = [1.5, -2, 0.25];
    const r = Math.sqrt(((a - c) / 2) ** 2 + b * b);
    const values = symEigenvalues([
      [a, b],
      [b, c],
    ]);
    expect(values[0]).toBeCloseTo((a + c) / 2 + r, 13);
    expect(values[1]).toBeCloseTo((a + c) / 2 - r, 13);
  });

  it('handles 1 × 1, diagonal and zero matrices', () => {
    expect(symEigenvalues([[4]])).toEqual([4]);
    expect(symEigenvalues([])).toEqual([]);
    const diag = [3, -1, 0, 8];
    const values = symEigenvalues(diag.map((x, i) => diag.map((_, j) => (i === j ? x : 0))));
    values.forEach((v, i) => expect(v).toBeCloseTo(sortedDown(diag)[i]!, 13));
    expect(symEigenvalues([
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ])).toEqual([0, 0, 0]);
  });

  it('agrees with Jacobi rotations on random symmetric and Gram matrices', () => {
    const rng = new Rng('linalg-jacobi');
    for (const n of [3, 17, 60]) {
      const g = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
      const sym = g.map((row, i) => row.map((x, j) => x + g[j]![i]!));
      const gram = g.map((_, i) => g.map((__, j) => g[i]!.reduce((s, x, k) => s + x * g[j]![k]!, 0)));
      for (const m of [sym, gram]) {
        const jacobi = symEig(m).values;
        const scale = Math.max(...jacobi.map(Math.abs));
        symEigenvalues(m).forEach((v, i) => expect(Math.abs(v - jacobi[i]!)).toBeLessThan(1e-11 * scale));
      }
    }
  });
});
