/**
 * The RLS step against independent derivations: after T samples it equals the
 * closed-form (exponentially weighted) ridge solution computed in float64, its
 * a-priori form equals the a-posteriori form of Sussillo & Abbott, and P stays
 * symmetric positive definite over 10⁵ float32 updates.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { symEig } from '../../src/linalg.js';
import { Rng } from '../../src/rng.js';
import { rlsCorrection, rlsInit, rlsStep, symmetrize, updateNow } from '../../src/rls.js';
import { solveLinear } from '../exact.js';

/** argmin_w Σ_t λ^{T−t} (r_t w − y_t)² + λ^T α ‖w − w₀‖², one output column, in float64. */
function weightedRidge(rs: number[][], ys: number[], w0: number[], alpha: number, lambda: number): number[] {
  const n = w0.length;
  const T = rs.length;
  const A = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? alpha * lambda ** T : 0)));
  const b = w0.map((w) => alpha * lambda ** T * w);
  rs.forEach((r, t) => {
    const weight = lambda ** (T - 1 - t);
    for (let i = 0; i < n; i++) {
      b[i]! += weight * r[i]! * ys[t]!;
      for (let j = 0; j < n; j++) A[i]![j]! += weight * r[i]! * r[j]!;
    }
  });
  return solveLinear(A, b);
}

describe('RLS', () => {
  const N = 8;
  const T = 300;
  const rng = new Rng('rls-test');
  const rs = Array.from({ length: T }, () => Array.from({ length: N }, () => 2 * rng.uniform() - 1));
  const wTrue = Array.from({ length: N }, () => rng.normal());
  const ys = rs.map((r) => r.reduce((s, v, i) => s + v * wTrue[i]!, 0) + 0.3 * rng.normal());
  const w0 = Array.from({ length: N }, () => 0.5 * rng.normal());

  // With forgetting, P grows by 1/λ per sample and float32 rounding with it (0.97⁻³⁰⁰ ≈ 9·10³); the same
  // recursion in float64 matches the closed form to 1e-13, so the looser bound is rounding, not the formula.
  it.each([
    [1, 1, 2e-5],
    [1, 0.97, 3e-4],
    [10, 0.99, 3e-4],
  ])('after T samples equals the closed-form ridge solution (α %s, forgetting λ %s)', (alpha, lambda, tolerance) => {
    let P = rlsInit(N, alpha);
    let w: tf.Tensor2D = tf.tensor2d(w0, [N, 1]);
    rs.forEach((r, t) => {
      const rt = tf.tensor2d(r, [1, N]);
      const e = tf.sub(tf.matMul(rt, w), tf.tensor2d([[ys[t]!]]));
      const s = rlsStep(P, rt, lambda);
      const next = tf.add(w, rlsCorrection(s.gain, e as tf.Tensor2D)) as tf.Tensor2D;
      tf.dispose([rt, e, P, w, s.gain]);
      [P, w] = [s.P, next];
    });
    const want = weightedRidge(rs, ys, w0, alpha, lambda);
    const got = Array.from(w.dataSync());
    const scale = Math.max(...want.map(Math.abs));
    got.forEach((v, i) => expect(Math.abs(v - want[i]!) / scale, `w[${i}]`).toBeLessThan(tolerance));
    tf.dispose([P, w]);
  });

  it('its a-priori form (−c e₋ P r) equals the a-posteriori form (−e₋ P₊ r), and e₊ = c e₋', () => {
    tf.tidy(() => {
      const P = tf.add(rlsInit(N, 2), tf.mul(0.01, tf.matMul(tf.tensor2d(rs.slice(0, N)), tf.tensor2d(rs.slice(0, N)), true)));
      const w = tf.tensor2d(w0, [N, 1]);
      const r = tf.tensor2d(rs[N]!, [1, N]);
      const y = tf.tensor2d([[ys[N]!]]);
      const ePrior = tf.sub(tf.matMul(r, w), y) as tf.Tensor2D;
      const s = rlsStep(P as tf.Tensor2D, r);
      const prior = tf.add(w, rlsCorrection(s.gain, ePrior));
      // Sussillo & Abbott write the step with the updated P: w ← w − e₋ P(t) r.
      const posterior = tf.sub(w, tf.matMul(tf.matMul(s.P, r, false, true), ePrior));
      expect(tf.max(tf.abs(tf.sub(prior, posterior))).dataSync()[0]).toBeLessThan(1e-6);
      const c = 1 / (1 + tf.matMul(tf.matMul(r, P), r, false, true).dataSync()[0]!);
      const ePost = tf.sub(tf.matMul(r, prior), y).dataSync()[0]!;
      expect(ePost).toBeCloseTo(c * ePrior.dataSync()[0]!, 6);
    });
  });

  it('keeps P symmetric positive definite over 10⁵ float32 updates', () => {
    const n = 12;
    const draw = new Rng('rls-spd');
    let P = rlsInit(n, 1);
    const before = tf.memory().numTensors;
    for (let t = 0; t < 100_000; t++) {
      // Samples that all but repeat, the hard case for float32: P shrinks along them by orders of magnitude.
      const r = tf.tensor2d(Float32Array.from({ length: n }, (_, i) => Math.sin(0.01 * t + i) + 0.01 * draw.normal()), [1, n]);
      const s = rlsStep(P, r);
      tf.dispose([P, r, s.gain]);
      P = (t + 1) % 100 === 0 ? tf.tidy(() => symmetrize(s.P)) : s.P;
      if ((t + 1) % 100 === 0) s.P.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    const rows = P.arraySync();
    const asym = Math.max(...rows.flatMap((row, i) => row.map((v, j) => Math.abs(v - rows[j]![i]!))));
    const { values } = symEig(rows.map((row, i) => row.map((v, j) => (v + rows[j]![i]!) / 2)));
    expect(asym / Math.max(...values.map(Math.abs))).toBeLessThan(1e-3);
    expect(Math.min(...values)).toBeGreaterThan(0);
    P.dispose();
  });

  it('updates every k-th step, or at random with probability 1/k', () => {
    const fixed = Array.from({ length: 10 }, (_, t) => updateNow({ updateEvery: 2, updateTimes: 'fixed' }, t, () => 0.5));
    expect(fixed).toEqual([false, true, false, true, false, true, false, true, false, true]);
    const draw = new Rng('schedule');
    const n = Array.from({ length: 10_000 }, (_, t) => updateNow({ updateEvery: 4, updateTimes: 'random' }, t, () => draw.uniform())).filter(Boolean).length;
    expect(n / 10_000).toBeCloseTo(0.25, 1);
  });
});
