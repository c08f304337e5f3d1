/**
 * Curvature estimators against closed forms. The Hessians of linear least
 * squares (XᵀX/N), logistic regression (Xᵀ diag(p(1−p)) X / N) and softmax
 * regression (mean_n (diag(p) − ppᵀ) ⊗ x xᵀ) are written out by hand here and
 * compared with the finite-difference Hessian-vector products of LossSurface,
 * and the spectral estimators with explicit matrices of known spectrum.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { LossSurface, selectParams } from '../../src/analysis/hvp.js';
import { withSecondOrderGradients } from '../../src/analysis/second-order.js';
import { createConvnet, convnetOptions } from '../../models/convnet.js';
import { dot, norm, symEig, type Vec } from '../../src/linalg.js';
import { denseMatrix, gaussianVec, hutchinson, hutchPlusPlus, lanczosTopK, powerTopK, slqDensity, type SymOperator } from '../../src/analysis/spectrum.js';
import { UsageError } from '../../src/errors.js';
import type { LossKind } from '../../src/types.js';
import { Rng } from '../../src/rng.js';
import type { Batch, Dataset, Model } from '../../src/types.js';
import { createMlp, mlpOptions } from '../../models/mlp.js';
import { createRnn, rnnOptions } from '../../models/rnn.js';
import { smallDigits, teacherDataset } from '../helpers.js';
import { optionDefaults } from '../../src/options.js';

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / n);
};

const matOp = (m: number[][]): SymOperator => ({
  dim: m.length,
  apply: (v) => Float64Array.from(m.map((row) => row.reduce((s, a, j) => s + a * v[j]!, 0))),
});

/** Q diag(λ) Qᵀ for a random orthogonal Q. */
function matrixWithSpectrum(lambdas: number[], rng: Rng): number[][] {
  const n = lambdas.length;
  const g = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
  const sym = g.map((r, i) => r.map((v, j) => v + g[j]![i]!));
  const q = symEig(sym).vectors;
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => lambdas.reduce((s, l, k) => s + l * q[k]![i]! * q[k]![j]!, 0)));
}

/** A dataset of fixed rows (train = test) for closed-form problems. */
function fixedData(x: number[][], y: number[] | number[][], loss: LossKind, outputSize: number): Dataset {
  const n = x.length;
  const d = x[0]!.length;
  return {
    name: 'fixed',
    inputShape: [d],
    outputSize,
    loss,
    size: () => n,
    batch: (_split, idx): Batch => {
      const rows = Array.from(idx, (i) => x[i]!);
      const ys = Array.from(idx, (i) => y[i]!);
      return {
        x: tf.tensor2d(rows, [rows.length, d]),
        y: loss === 'mse' ? tf.tensor2d(ys as number[][]) : tf.tensor1d(ys as number[], 'int32'),
        size: rows.length,
      };
    },
  };
}

/** out = x W, W of shape [d, k]; `pad` prepends a zero logit (softmax over [0, z] is logistic regression). */
function linearModel(d: number, k: number, pad = false): Model {
  return {
    name: 'linear',
    specs: { W: { shape: [d, k], role: 'weight' } },
    init: () => ({ W: tf.zeros([d, k]) }),
    forward: (p, x) => {
      const z = tf.matMul(x as tf.Tensor2D, p['W'] as tf.Tensor2D);
      return { output: pad ? tf.concat([tf.zerosLike(z), z], 1) : z, trace: [] };
    },
  };
}

function problem(rng: Rng, n: number, d: number) {
  const x = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
  return { x };
}

const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** The three closed-form problems: the surface and its exact Hessian. */
function closedForms() {
  const rng = new Rng('closed-forms');
  const n = 300;
  const d = 6;
  const { x } = problem(rng, n, d);
  const out: { name: string; surface: () => LossSurface; hessian: number[][] }[] = [];

  // Linear least squares, L = mean ½(xᵀθ − y)²: H = XᵀX / N.
  {
    const y = x.map((r) => [r.reduce((s, v) => s + v, 0) + rng.normal()]);
    const theta = Array.from({ length: d }, () => 0.5 * rng.normal());
    const h = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => x.reduce((s, r) => s + r[i]! * r[j]!, 0) / n));
    out.push({
      name: 'least squares',
      surface: () => {
        const W = tf.tensor2d(theta, [d, 1]);
        const s = new LossSurface(linearModel(d, 1), { W }, fixedData(x, y, 'mse', 1), { split: 'train', points: n }, ['W'], 128);
        W.dispose();
        return s;
      },
      hessian: h,
    });
  }
  // Logistic regression, p = σ(xᵀθ): H = Xᵀ diag(p(1−p)) X / N.
  {
    const theta = Array.from({ length: d }, () => 0.7 * rng.normal());
    const y = x.map(() => (rng.uniform() < 0.5 ? 0 : 1));
    const p = x.map((r) => 1 / (1 + Math.exp(-r.reduce((s, v, i) => s + v * theta[i]!, 0))));
    const h = Array.from({ length: d }, (_, i) =>
      Array.from({ length: d }, (_, j) => x.reduce((s, r, k) => s + p[k]! * (1 - p[k]!) * r[i]! * r[j]!, 0) / n),
    );
    out.push({
      name: 'logistic regression',
      surface: () => {
        const W = tf.tensor2d(theta, [d, 1]);
        const s = new LossSurface(linearModel(d, 1, true), { W }, fixedData(x, y, 'softmax-ce', 2), { split: 'train', points: n }, ['W'], 128);
        W.dispose();
        return s;
      },
      hessian: h,
    });
  }
  // Softmax regression, W [d, K] flattened row-major (index i·K + c):
  // H[(i,c),(j,e)] = mean_n x_i x_j (p_c δ_ce − p_c p_e).
  {
    const k = 4;
    const W = Array.from({ length: d * k }, () => 0.5 * rng.normal());
    const y = x.map(() => rng.int(k));
    const ps = x.map((r) => softmax(Array.from({ length: k }, (_, c) => r.reduce((s, v, i) => s + v * W[i * k + c]!, 0))));
    const h = Array.from({ length: d * k }, (_, a) =>
      Array.from({ length: d * k }, (_, b) => {
        const [i, c] = [Math.floor(a / k), a % k];
        const [j, e] = [Math.floor(b / k), b % k];
        return x.reduce((s, r, m) => s + r[i]! * r[j]! * ps[m]![c]! * ((c === e ? 1 : 0) - ps[m]![e]!), 0) / n;
      }),
    );
    out.push({
      name: 'softmax regression',
      surface: () => {
        const t = tf.tensor2d(W, [d, k]);
        const s = new LossSurface(linearModel(d, k), { W: t }, fixedData(x, y, 'softmax-ce', k), { split: 'train', points: n }, ['W'], 128);
        t.dispose();
        return s;
      },
      hessian: h,
    });
  }
  return out;
}

describe('Hessian-vector products against closed-form Hessians', () => {
  for (const { name, surface, hessian } of closedForms()) {
    it.each(['exact', 'fd'] as const)(`${name} (%s): Hv, λ_max and the trace within 1e-3 relative`, (method) => {
      const before = tf.memory().numTensors;
      const s = surface();
      s.method = method;
      const exact = matOp(hessian);
      const rng = new Rng(`hvp-${name}`);
      for (let t = 0; t < 5; t++) {
        const v = gaussianVec(rng, s.dim);
        expect(relErr(s.apply(v), exact.apply(v))).toBeLessThan(1e-3);
      }
      const eig = symEig(hessian);
      const top = lanczosTopK(s, 1, rng, { tol: 1e-6 });
      expect(Math.abs(top.values[0]! - eig.values[0]!) / eig.values[0]!).toBeLessThan(1e-3);
      const pow = powerTopK(s, 1, rng, { tol: 1e-7, maxIter: 500 });
      expect(Math.abs(pow.values[0]! - eig.values[0]!) / eig.values[0]!).toBeLessThan(1e-3);
      const trace = hessian.reduce((a, r, i) => a + r[i]!, 0);
      const full = denseMatrix(s);
      const fdTrace = full.reduce((a, r, i) => a + r[i]!, 0);
      expect(Math.abs(fdTrace - trace) / trace).toBeLessThan(1e-3);
      // With a sketch as large as the space, Hutch++'s low-rank part is the whole trace.
      const hpp = hutchPlusPlus(s, 3 * s.dim, rng);
      expect(Math.abs(hpp.trace - trace) / trace).toBeLessThan(1e-3);
      s.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('selects parameters by glob and names the choices when nothing matches', () => {
    const m = createMlp({ ...optionDefaults(mlpOptions), hidden: [4], activation: 'tanh', init: 'torch', initScale: 1 }, { inputShape: [3], outputSize: 2 });
    expect(selectParams(m)).toEqual(['l0/W', 'l0/b', 'l1/W', 'l1/b']);
    expect(selectParams(m, 'l1/W')).toEqual(['l1/W']);
    expect(selectParams(m, '*/W')).toEqual(['l0/W', 'l1/W']);
    expect(() => selectParams(m, 'rec/*')).toThrow(UsageError);
    expect(() => selectParams(m, 'rec/*')).toThrow(/--params rec\/\* matches no trainable parameter; the model has: l0\/W, l0\/b, l1\/W, l1\/b/);
  });
});

describe('spectral estimators on matrices of known spectrum', () => {
  const rng = new Rng('spectra');
  const lambdas = [50, 20, 10, ...Array.from({ length: 57 }, (_, i) => 3 - (i * 4) / 56)];
  const m = matrixWithSpectrum(lambdas, rng);
  const op = matOp(m);
  const trace = lambdas.reduce((a, b) => a + b, 0);

  it('Lanczos finds the top three eigenpairs', () => {
    const r = lanczosTopK(op, 3, rng, { tol: 1e-8 });
    expect(r.converged).toBe(true);
    r.values.forEach((v, i) => expect(v).toBeCloseTo(lambdas[i]!, 6));
    r.vectors.forEach((x, i) => {
      const ax = op.apply(x);
      expect(relErr(ax, x.map((c) => c * lambdas[i]!))).toBeLessThan(1e-6);
    });
    expect(r.matvecs).toBeLessThan(60);
  });

  it('power iteration with deflation finds the same eigenvalues', () => {
    const r = powerTopK(op, 3, rng, { tol: 1e-9, maxIter: 1000 });
    r.values.forEach((v, i) => expect(Math.abs(v - lambdas[i]!) / lambdas[i]!).toBeLessThan(1e-4));
    expect(Math.abs(dot(r.vectors[0]!, r.vectors[1]!))).toBeLessThan(1e-6);
  });

  it('reports non-convergence when the iteration limit is too small', () => {
    const r = lanczosTopK(op, 3, rng, { tol: 1e-12, maxIter: 4 });
    expect(r.converged).toBe(false);
    expect(r.matvecs).toBe(4);
  });

  it('Hutchinson and Hutch++ are unbiased with calibrated standard errors; Hutch++ errs less', () => {
    // Over 100 independent estimates, (estimate − trace)/SE should look standard normal.
    const z = { h: [] as number[], hpp: [] as number[] };
    const err = { h: 0, hpp: 0 };
    for (let s = 0; s < 100; s++) {
      const h = hutchinson(op, 90, new Rng(`hutch-${s}`));
      const hpp = hutchPlusPlus(op, 90, new Rng(`hutch-${s}`));
      expect(h.matvecs).toBe(90);
      expect(hpp.matvecs).toBe(90);
      z.h.push((h.trace - trace) / h.se);
      z.hpp.push((hpp.trace - trace) / hpp.se);
      err.h += Math.abs(h.trace - trace);
      err.hpp += Math.abs(hpp.trace - trace);
    }
    for (const zs of [z.h, z.hpp]) {
      const mean = zs.reduce((a, b) => a + b, 0) / zs.length;
      const rms = Math.sqrt(zs.reduce((a, b) => a + b * b, 0) / zs.length);
      expect(Math.abs(mean)).toBeLessThan(0.4);
      expect(rms).toBeGreaterThan(0.75);
      expect(rms).toBeLessThan(1.3);
    }
    expect(err.hpp).toBeLessThan(0.7 * err.h);
  });

  it('stochastic Lanczos quadrature: nodes are the eigenvalues when the Krylov space is the whole space', () => {
    const small = matrixWithSpectrum([5, 2, 1, -1], rng);
    const d = slqDensity(matOp(small), rng, { steps: 10, runs: 3 });
    for (const nodes of d.nodes) expect(nodes.map((v) => Number(v.toFixed(6)))).toEqual([5, 2, 1, -1]);
    for (const w of d.weights) expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    const h = d.grid[1]! - d.grid[0]!;
    expect(d.density.reduce((a, b) => a + b, 0) * h).toBeCloseTo(1, 6);
    // Averaged over many start vectors, the first moment is tr(A)/n.
    const many = slqDensity(op, new Rng('slq'), { steps: 20, runs: 200 });
    const moment = many.nodes.reduce((s, ns, r) => s + ns.reduce((a, t, j) => a + t * many.weights[r]![j]!, 0), 0) / 200;
    expect(Math.abs(moment - trace / 60) / (trace / 60)).toBeLessThan(0.05);
  });
});

describe('curvature of a trained network', () => {
  /** A small tanh MLP trained by full-batch gradient descent on a teacher problem. */
  function trained(hidden: number[], steps: number, activation: 'tanh' | 'relu' = 'tanh', points = 256) {
    const data = teacherDataset('hessian', points, 8, 3, 8);
    const model = createMlp({ ...optionDefaults(mlpOptions), hidden, activation, init: 'torch', initScale: 1 }, { inputShape: [8], outputSize: 3 });
    let params = model.init(new Rng('hessian-net'));
    const names = selectParams(model);
    for (let t = 0; t < steps; t++) {
      const s = new LossSurface(model, params, data, { split: 'train', points }, names, 256);
      const { grad } = s.lossAndGrad();
      const theta = s.point();
      s.dispose();
      let o = 0;
      const next: Record<string, tf.Tensor> = {};
      for (const n of names) {
        const size = params[n]!.size;
        next[n] = tf.tensor(Float32Array.from(theta.subarray(o, o + size).map((v, i) => v - 0.5 * grad[o + i]!)), params[n]!.shape);
        o += size;
      }
      tf.dispose(Object.values(params));
      params = next;
    }
    return { data, model, params, names };
  }

  it('ReLU MLP: Lanczos and power iteration agree on λ_max within 1%', () => {
    const { data, model, params, names } = trained([32, 32], 150, 'relu');
    const s = new LossSurface(model, params, data, { split: 'train', points: 256 }, names, 256);
    const lz = lanczosTopK(s, 1, new Rng('lz'));
    const pw = powerTopK(s, 1, new Rng('pw'));
    expect(lz.converged && pw.converged).toBe(true);
    expect(lz.values[0]!).toBeGreaterThan(0);
    expect(Math.abs(lz.values[0]! - pw.values[0]!) / lz.values[0]!).toBeLessThan(0.01);
    s.dispose();
    tf.dispose(Object.values(params));
  });

  it('tanh MLP (smooth): exact products agree with small-step finite differences', () => {
    const { data, model, params, names } = trained([16, 16], 100, 'tanh');
    const s = new LossSurface(model, params, data, { split: 'train', points: 256 }, names, 128);
    const rng = new Rng('tanh-check');
    for (let t = 0; t < 3; t++) expect(s.compareWithFd(gaussianVec(rng, s.dim))).toBeLessThan(2e-3);
    s.dispose();
    tf.dispose(Object.values(params));
  });

  it('rate RNN over J: exact products (the per-step graph, differentiated twice) agree with finite differences of gradients (the native whole-trial kernels where built)', () => {
    const [n, T, I, O] = [12, 20, 2, 1];
    const model = createRnn({ ...optionDefaults(rnnOptions), units: n, tau: 100, activation: 'tanh', gain: 1.3, sparsity: 1, dale: 0.75 }, { inputShape: [T, I], outputSize: O, dtMs: 20 });
    const params = model.init(new Rng('rnn-hessian'));
    const rng = new Rng('rnn-hessian-data');
    const trials = Array.from({ length: 16 }, () => ({ x: Array.from({ length: T }, () => [rng.normal(), rng.normal()]), y: Array.from({ length: T }, (_, t) => [Math.sin(0.3 * t + rng.normal())]) }));
    const data: Dataset = {
      name: 'rnn-fixed',
      inputShape: [T, I],
      outputSize: O,
      loss: 'mse',
      size: () => trials.length,
      batch: (_split, idx): Batch => {
        const rows = Array.from(idx, (i) => trials[i]!);
        return { x: tf.tensor3d(rows.map((r) => r.x)), y: tf.tensor3d(rows.map((r) => r.y)), mask: tf.ones([rows.length, T]), size: rows.length };
      },
    };
    const s = new LossSurface(model, params, data, { split: 'train', points: 16 }, ['rnn/J'], 16);
    const check = new Rng('rnn-check');
    for (let t = 0; t < 2; t++) expect(s.compareWithFd(gaussianVec(check, s.dim))).toBeLessThan(5e-3);
    s.dispose();
    tf.dispose(Object.values(params));
  });

  it('conv net with tanh and max-pooling: exact products are symmetric and agree with finite differences', () => {
    const data = smallDigits();
    const model = createConvnet({ ...optionDefaults(convnetOptions), arch: 'c4k3-m2-c6k3v-m2-d16', activation: 'tanh', init: 'torch', initScale: 1 }, { inputShape: data.inputShape, outputSize: 10 });
    const params = model.init(new Rng('conv-hessian'));
    const s = new LossSurface(model, params, data, { split: 'train', points: 64 }, selectParams(model), 64);
    // Max-pool windows over the digits' flat background hold near-ties, so finite
    // differences only agree at a step small enough not to flip them.
    s.relStep = 1e-5;
    const rng = new Rng('conv-check');
    const [v, w] = [gaussianVec(rng, s.dim), gaussianVec(rng, s.dim)];
    const hv = s.apply(v);
    const hw = s.apply(w);
    expect(Math.abs(dot(w, hv) - dot(v, hw)) / Math.abs(dot(w, hv))).toBeLessThan(1e-5);
    expect(s.checkHvp(v, w)).toBeLessThan(1e-5);
    expect(s.compareWithFd(v)).toBeLessThan(1e-2);
    s.dispose();
    tf.dispose(Object.values(params));
  });

  it('restores the stock gradients after computing products', () => {
    const stock = ['Tanh', 'Sigmoid', 'Exp', 'Softmax'].map((k) => tf.getGradient(k));
    withSecondOrderGradients(() => expect(tf.getGradient('Tanh')).not.toBe(stock[0]));
    expect(['Tanh', 'Sigmoid', 'Exp', 'Softmax'].map((k) => tf.getGradient(k))).toEqual(stock);
    expect(tf.getGradient('Conv2DBackpropFilter')).toBeUndefined();
    expect(() => withSecondOrderGradients(() => { throw new Error('inside'); })).toThrow('inside');
    expect(tf.getGradient('Tanh')).toBe(stock[0]);
  });

  it('the finite-difference Hessian of a small net is symmetric, and Hutchinson is within 3 SE of its trace', () => {
    const { data, model, params, names } = trained([5], 100, 'relu');
    const s = new LossSurface(model, params, data, { split: 'train', points: 256 }, names, 256);
    const cols: Vec[] = [];
    for (let j = 0; j < s.dim; j++) {
      const e = new Float64Array(s.dim);
      e[j] = 1;
      cols.push(s.apply(e));
    }
    let asym = 0;
    let total = 0;
    for (let i = 0; i < s.dim; i++) {
      for (let j = 0; j < s.dim; j++) {
        asym += (cols[j]![i]! - cols[i]![j]!) ** 2;
        total += cols[j]![i]! ** 2;
      }
    }
    expect(Math.sqrt(asym / total)).toBeLessThan(1e-3);
    const exactTrace = cols.reduce((a, c, i) => a + c[i]!, 0);
    const h = hutchinson(s, 60, new Rng('hutch-net'));
    expect(Math.abs(h.trace - exactTrace)).toBeLessThan(3 * h.se);
    expect(norm(cols[0]!)).toBeGreaterThan(0);
    s.dispose();
    tf.dispose(Object.values(params));
  });
});
