/** Max-margin solvers of the implicit-bias analysis on toy problems with known solutions. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { groupNormMaxMargin, l2MaxMargin, predictGated, svm, unitNorms, type GatedData } from '../../analyses/maxmargin.js';
import { Rng } from '../../src/rng.js';

function linearKernel(x: number[][]): Float64Array {
  const n = x.length;
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] = x[i]!.reduce((s, v, k) => s + v * x[j]![k]!, 0);
  return K;
}

function weights(x: number[][], y: number[], alpha: Float64Array): number[] {
  const w = new Array<number>(x[0]!.length).fill(0);
  x.forEach((xi, i) => xi.forEach((v, k) => (w[k]! += alpha[i]! * y[i]! * v)));
  return w;
}

function gated(x: number[][], y: number[], contexts: number[][], C: number): GatedData {
  return { x: tf.tensor2d(x), y: Float64Array.from(y), contexts: tf.tensor2d(contexts, undefined, 'int32'), C };
}

function dispose(d: GatedData): void {
  tf.dispose([d.x, d.contexts]);
}

describe('hard-margin SVM (dual coordinate ascent, no bias)', () => {
  it('two points: w = (1/2, −1/2)', () => {
    const x = [[2, 0], [0, 2]];
    const y = [1, -1];
    const r = svm(linearKernel(x), Float64Array.from(y), { tol: 1e-9 });
    expect(r.converged).toBe(true);
    const w = weights(x, y, r.alpha);
    expect(w[0]).toBeCloseTo(0.5, 8);
    expect(w[1]).toBeCloseTo(-0.5, 8);
    expect(r.primal).toBeCloseTo(0.25, 8);
    expect(r.dual).toBeCloseTo(0.25, 8);
  });

  it('one support vector: the other points get α = 0 and w is the known solution', () => {
    const x = [[1, 0.3], [-1, -0.2], [3, 1], [2, -2], [-4, 0.5], [-2.5, 3]];
    const y = [1, -1, 1, 1, -1, -1];
    const r = svm(linearKernel(x), Float64Array.from(y), { tol: 1e-10 });
    const w = weights(x, y, r.alpha);
    // Only y·w·x ≥ 1 at (−1, −0.2) binds: w = (1, 0.2)/1.04, where every other margin exceeds 1
    // (at (1, 0.3) it is 1.0185).
    expect(w[0]).toBeCloseTo(1 / 1.04, 6);
    expect(w[1]).toBeCloseTo(0.2 / 1.04, 6);
    for (const i of [0, 2, 3, 4, 5]) expect(r.alpha[i]).toBe(0);
    expect(r.minMargin).toBeCloseTo(1, 6);
  });

  it('reports inseparable data instead of looping', () => {
    const x = [[1, 0], [1, 0]];
    const r = svm(linearKernel(x), Float64Array.from([1, -1]), { maxEpochs: 500 });
    expect(r.converged).toBe(false);
    expect(r.separable).toBe(false);
  });
});

describe('L2 max margin over a gated class', () => {
  it('one unit, two contexts = an independent SVM per context', () => {
    // Context 0: (2,0)+, (0,2)− → w0 = (1/2, −1/2); context 1: (1,1)+ → w1 = (1/2, 1/2).
    const d = gated([[2, 0], [0, 2], [1, 1]], [1, -1, 1], [[0], [0], [1]], 2);
    const r = l2MaxMargin(d, { tol: 1e-10 });
    const b = r.beta.arraySync(); // [C, D, H]
    expect(b[0]![0]![0]).toBeCloseTo(0.5, 5);
    expect(b[0]![1]![0]).toBeCloseTo(-0.5, 5);
    expect(b[1]![0]![0]).toBeCloseTo(0.5, 5);
    expect(b[1]![1]![0]).toBeCloseTo(0.5, 5);
    expect(r.objective).toBeCloseTo(0.5, 5);
    expect(r.lowerBound).toBeCloseTo(0.5, 5);
    r.beta.dispose();
    dispose(d);
  });

  it('matches separate SVMs on random separable data split by one gate', () => {
    const rng = new Rng('mm-test');
    const D = 5;
    const n = 40;
    const teacher = [rng.normals(D, 1), rng.normals(D, 1)];
    const x: number[][] = [];
    const y: number[] = [];
    const ctx: number[][] = [];
    for (let i = 0; i < n; i++) {
      const xi = Array.from(rng.normals(D, 1));
      const c = xi[0]! > 0 ? 1 : 0;
      x.push(xi);
      ctx.push([c]);
      y.push(Math.sign(xi.reduce((s, v, k) => s + v * teacher[c]![k]!, 0)) || 1);
    }
    const d = gated(x, y, ctx, 2);
    const r = l2MaxMargin(d, { tol: 1e-9 });
    let separate = 0;
    for (const c of [0, 1]) {
      const idx = ctx.map((v, i) => (v[0] === c ? i : -1)).filter((i) => i >= 0);
      const s = svm(linearKernel(idx.map((i) => x[i]!)), Float64Array.from(idx.map((i) => y[i]!)), { tol: 1e-9 });
      separate += s.primal;
    }
    // The gated kernel is built in float32 (tfjs), the separate ones in float64.
    expect(Math.abs(r.objective - separate) / separate).toBeLessThan(1e-5);
    r.beta.dispose();
    dispose(d);
  });
});

describe('group-norm max margin', () => {
  // Unit A has two contexts (x1 = 1 → 0, x1 = 2 → 1); unit B one context for both points.
  // Labels +1 at (1,0) and −1 at (2,0): B alone cannot fit them.
  const toy = () => gated([[1, 0], [2, 0]], [1, -1], [[0, 0], [1, 0]], 2);

  it('known optimum √1.25 with unit B unused; the L2 optimum spreads over both units (7/12)', () => {
    const d = toy();
    const g = groupNormMaxMargin(d, { tol: 1e-10, relTol: 1e-6 });
    expect(g.objective).toBeCloseTo(Math.sqrt(1.25), 4);
    expect(g.lowerBound).toBeLessThanOrEqual(g.objective + 1e-9);
    expect(g.lowerBound).toBeCloseTo(Math.sqrt(1.25), 3);
    const norms = unitNorms(g.beta);
    expect(norms[0]).toBeCloseTo(Math.sqrt(1.25), 3);
    expect(norms[1]).toBeLessThan(1e-3);
    const l2 = l2MaxMargin(d, { tol: 1e-12 });
    expect(l2.objective).toBeCloseTo(7 / 12, 6);
    const b = l2.beta.arraySync();
    expect(b[0]![0]![0]).toBeCloseTo(5 / 6, 5); // β_A0 · e1
    expect(b[1]![0]![0]).toBeCloseTo(-2 / 3, 5); // β_A1 · e1
    expect(b[0]![0]![1]).toBeCloseTo(1 / 6, 5); // β_B0 · e1
    tf.dispose([g.beta, l2.beta]);
    dispose(d);
  });

  it('without gates the group norm is the L2 SVM norm ‖w*‖, however it is split over units', () => {
    const x = [[2, 0], [0, 2], [3, 1]];
    const y = [1, -1, 1];
    const w = svm(linearKernel(x), Float64Array.from(y), { tol: 1e-12 });
    const d = gated(x, y, [[0, 0, 0], [0, 0, 0], [0, 0, 0]], 1);
    const g = groupNormMaxMargin(d, { tol: 1e-10, relTol: 1e-6 });
    expect(g.objective).toBeCloseTo(Math.sqrt(2 * w.primal), 4);
    tf.dispose(g.beta);
    dispose(d);
  });

  it('random gated problems: duality gap closes, margins hold, objective ≤ the L2 solution’s group norm', () => {
    const rng = new Rng('gn-test');
    const D = 6;
    const H = 4;
    const n = 30;
    const x: number[][] = [];
    const ctx: number[][] = [];
    const y: number[] = [];
    const u = Array.from({ length: H }, () => rng.normals(D, 1));
    const teacher = rng.normals(D, 1);
    for (let i = 0; i < n; i++) {
      const xi = Array.from(rng.normals(D, 1));
      x.push(xi);
      ctx.push(u.map((uh) => (xi.reduce((s, v, k) => s + v * uh[k]!, 0) > 0 ? 1 : 0)));
      y.push(Math.sign(xi.reduce((s, v, k) => s + v * teacher[k]!, 0) + 0.5 * Math.sin(3 * xi[1]!)) || 1);
    }
    const d = gated(x, y, ctx, 2);
    const g = groupNormMaxMargin(d, { tol: 1e-9, relTol: 1e-4, maxRounds: 2000 });
    expect(g.separable).toBe(true);
    expect(g.converged).toBe(true);
    expect((g.objective - g.lowerBound) / g.objective).toBeLessThan(1e-4);
    const f = predictGated(g.beta, d.x, d.contexts);
    const minMargin = Math.min(...Array.from(f, (v, i) => v * y[i]!));
    expect(minMargin).toBeGreaterThan(1 - 1e-3);
    const l2 = l2MaxMargin(d, { tol: 1e-10 });
    const l2Group = unitNorms(l2.beta).reduce((a, b) => a + b, 0) / l2.minMargin;
    expect(g.objective).toBeLessThanOrEqual(l2Group + 1e-6);
    tf.dispose([g.beta, l2.beta]);
    dispose(d);
  });
});
