/**
 * The sign-constrained least-squares solver against brute force: on small
 * problems every support of every column is tried (the unconstrained solution
 * on the support, kept when it is feasible and satisfies the KKT conditions),
 * in float64.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { signConstraint } from '../../src/dale.js';
import { constrainedLeastSquares, largestEigenvalue } from '../../src/nnls.js';
import { Rng } from '../../src/rng.js';
import { bruteForceSigned } from '../exact.js';

function problem(rng: Rng, n: number, m: number) {
  // G = Σ rᵀ r + α I from 3n random rate vectors, as the rules accumulate it.
  const R = Array.from({ length: 3 * n }, () => Array.from({ length: n }, () => Math.tanh(2 * rng.normal())));
  const G = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => R.reduce((a, r) => a + r[i]! * r[j]!, 0) + (i === j ? 0.5 : 0)));
  const B = Array.from({ length: n }, () => Array.from({ length: m }, () => 3 * rng.normal()));
  return { G, B };
}

describe('constrainedLeastSquares', () => {
  it.each([
    ['nonnegative', [1, 1, 1, 1, 1, 1]],
    ['E/I signs with a zero (no autapse)', [1, 1, 0, 1, -1, -1]],
    ['readout from E units only', [1, 1, 1, 1, 0, 0]],
  ])('matches brute force on small problems (%s)', (_, signs) => {
    const rng = new Rng('nnls');
    for (let trial = 0; trial < 5; trial++) {
      const n = signs.length;
      const m = 4;
      const { G, B } = problem(rng, n, m);
      const constraint = signConstraint('test', Float32Array.from(signs));
      const start = tf.randomNormal([n, m], 0, 1, 'float32', trial) as tf.Tensor2D;
      const { M, iterations } = constrainedLeastSquares(tf.tensor2d(G), tf.tensor2d(B), start, { project: (x) => constraint.project(x) as tf.Tensor2D, maxIterations: 5000, tolerance: 1e-6 });
      const got = M.arraySync();
      for (let c = 0; c < m; c++) {
        const want = bruteForceSigned(
          G,
          B.map((row) => row[c]!),
          signs,
        );
        want.forEach((w, j) => expect(got[j]![c]!, `trial ${trial}, column ${c}, entry ${j}`).toBeCloseTo(w, 3));
      }
      // Some entries sit on the boundary, so the constraint was active.
      expect(got.flat().some((v) => v === 0)).toBe(true);
      expect(constraint.violations(M)).toBe(0);
      // It stopped on the tolerance, not the cap.
      expect(iterations).toBeGreaterThan(1);
      expect(iterations).toBeLessThan(5000);
      tf.dispose([M, start]);
    }
  });

  it('bounds the largest eigenvalue from above, within 2%', () => {
    const { G } = problem(new Rng('eig'), 8, 1);
    const lambda = largestEigenvalue(tf.tensor2d(G));
    // The largest eigenvalue by the Rayleigh quotient of a long power iteration in float64.
    let v = G.map(() => 1);
    let top = 0;
    for (let i = 0; i < 2000; i++) {
      const w = G.map((row) => row.reduce((a, g, j) => a + g * v[j]!, 0));
      top = Math.hypot(...w);
      v = w.map((x) => x / top);
    }
    expect(lambda).toBeGreaterThanOrEqual(top * 0.9999);
    expect(lambda).toBeLessThan(top * 1.02);
  });

  it('keeps no tensors', () => {
    const { G, B } = problem(new Rng('leak'), 5, 2);
    const [g, b, s] = [tf.tensor2d(G), tf.tensor2d(B), tf.zeros([5, 2]) as tf.Tensor2D];
    const before = tf.memory().numTensors;
    const { M } = constrainedLeastSquares(g, b, s, { project: (x) => tf.relu(x) as tf.Tensor2D, maxIterations: 50, tolerance: 0 });
    M.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
