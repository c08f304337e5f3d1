/** RNN dynamics: the nonsymmetric eigenvalue solver and the Lyapunov exponent against closed forms. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRnn, rnnOptions } from '../../models/rnn.js';
import { largestLyapunov, rnnDynamics } from '../../analyses/dynamics.js';
import { eigenvalues } from '../../src/linalg.js';
import { participationRatio } from '../../analyses/geometry.js';
import type { TaskDataset } from '../../datasets/tasks/task.js';
import { resolveOptions } from '../../src/options.js';
import { tasks } from '../../src/registries.js';
import { Rng } from '../../src/rng.js';
import { optionDefaults } from '../../src/options.js';

const sorted = (ev: { re: number; im: number }[]) => [...ev].sort((a, b) => a.re - b.re || a.im - b.im);

/** det(A) by Gaussian elimination with partial pivoting. */
function det(a: number[][]): number {
  const m = a.map((r) => [...r]);
  const n = m.length;
  let d = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i]![k]!) > Math.abs(m[p]![k]!)) p = i;
    if (p !== k) ([m[p], m[k]] = [m[k]!, m[p]!], (d = -d));
    d *= m[k]![k]!;
    for (let i = k + 1; i < n; i++) {
      const f = m[i]![k]! / m[k]![k]!;
      for (let j = k; j < n; j++) m[i]![j]! -= f * m[k]![j]!;
    }
  }
  return d;
}

describe('eigenvalues (nonsymmetric)', () => {
  it('matches closed forms: rotation, triangular, companion matrix', () => {
    const rot = sorted(eigenvalues([[0, -2], [2, 0]]));
    expect(rot[0]!.re).toBeCloseTo(0, 12);
    expect(rot.map((e) => e.im)).toEqual([-2, 2]);
    expect(sorted(eigenvalues([[2, 1, 7], [0, 3, 1], [0, 0, -5]])).map((e) => e.re)).toEqual([-5, 2, 3]);
    // (x − 1)(x − 2)(x − 3)(x − 4)
    sorted(eigenvalues([[10, -35, 50, -24], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])).forEach((e, i) => {
      expect(e.re).toBeCloseTo(i + 1, 9);
      expect(e.im).toBe(0);
    });
  });

  it('on random matrices: Σλ = trace, Πλ = det, conjugate pairs, and det(A − λI) ≈ 0 for real λ', () => {
    const rng = new Rng('eig');
    for (const n of [5, 12, 40]) {
      const a = Array.from({ length: n }, () => Array.from(rng.normals(n, 1 / Math.sqrt(n)), Number));
      const ev = eigenvalues(a);
      expect(ev.length).toBe(n);
      const tr = a.reduce((s, r, i) => s + r[i]!, 0);
      expect(ev.reduce((s, e) => s + e.re, 0)).toBeCloseTo(tr, 9);
      expect(Math.abs(ev.reduce((s, e) => s + e.im, 0))).toBeLessThan(1e-9);
      // Product of complex eigenvalues.
      let [pr, pi] = [1, 0];
      for (const e of ev) [pr, pi] = [pr * e.re - pi * e.im, pr * e.im + pi * e.re];
      expect(Math.abs(pr - det(a)) / Math.abs(det(a))).toBeLessThan(1e-8);
      expect(Math.abs(pi)).toBeLessThan(1e-8 * Math.abs(det(a)));
      for (const e of ev.filter((x) => x.im === 0)) {
        const shifted = a.map((r, i) => r.map((v, j) => (i === j ? v - e.re : v)));
        expect(Math.abs(det(shifted))).toBeLessThan(1e-8 * Math.abs(det(a)) + 1e-12);
      }
    }
  });
});

describe('largest Lyapunov exponent', () => {
  const alpha = 0.1;
  it('of a linear network is log of the spectral radius of (1 − α)I + αJ (diagonal J; a scaled rotation)', () => {
    const rng = new Rng('lyap-linear');
    const n = 3;
    const diag = [0.5, 1.8, -0.7];
    const J = new Float64Array(n * n);
    diag.forEach((d, i) => (J[i * n + i] = d));
    const x0 = Float64Array.from(rng.normals(n, 1));
    const v0 = Float64Array.from(rng.normals(n, 1));
    const got = largestLyapunov(J, new Float64Array(n), alpha, 'linear', x0, v0, 3000, 500);
    expect(got).toBeCloseTo(Math.log(1 - alpha + alpha * 1.8), 6);
    // J = s R(θ): the pair (1 − α) + α s e^{±iθ} has modulus m and the normalised vector grows by m every step.
    const [s, th] = [1.7, 0.9];
    const R = Float64Array.from([s * Math.cos(th), s * Math.sin(th), -s * Math.sin(th), s * Math.cos(th)]);
    const m = Math.hypot(1 - alpha + alpha * s * Math.cos(th), alpha * s * Math.sin(th));
    expect(largestLyapunov(R, new Float64Array(2), alpha, 'linear', Float64Array.from([1, 0]), Float64Array.from([0.3, 1]), 1000, 10)).toBeCloseTo(Math.log(m), 9);
  });

  it('of a random tanh network is negative at gain 0.5 and positive (chaos) at gain 3', () => {
    const rng = new Rng('lyap-tanh');
    const n = 200;
    const run = (g: number) => {
      const J = Float64Array.from(rng.normals(n * n, g / Math.sqrt(n)));
      return largestLyapunov(J, new Float64Array(n), alpha, 'tanh', Float64Array.from(rng.normals(n, 1)), Float64Array.from(rng.normals(n, 1)), 2000, 500);
    };
    expect(run(0.5)).toBeLessThan(-0.01);
    expect(run(3)).toBeGreaterThan(0.01);
  });

  it('rnnDynamics reports the spectrum of J ⊙ mask, the exponent per second, and a participation ratio in [1, N]', async () => {
    const e = tasks.get('perceptual-decision');
    const ds = await e.load(resolveOptions('task', e.options ?? [], { trials: 16, testTrials: 8 }));
    const model = createRnn({ ...optionDefaults(rnnOptions), units: 20, tau: 100, activation: 'tanh', gain: 1.5, sparsity: 0.5, dale: 0, trainX0: false, recNoise: 0, inputNoise: 0 }, { inputShape: ds.inputShape, outputSize: 1, dtMs: ds.dtMs });
    const params = model.init(new Rng('dyn'));
    const before = tf.memory().numTensors;
    const d = rnnDynamics(model, params, ds, { split: 'test', points: 8, steps: 400, transient: 100 }, new Rng('dyn-start'));
    expect(tf.memory().numTensors).toBe(before);
    const Jm = tf.mul(params['rnn/J']!, params['rnn/mask']!).arraySync() as number[][];
    expect(d.eigenvalues.length).toBe(20);
    expect(d.eigenvalues.reduce((s, v) => s + v.re, 0)).toBeCloseTo(Jm.reduce((s, r, i) => s + r[i]!, 0), 4);
    expect(d.lyapunov.perSecond).toBeCloseTo(d.lyapunov.perStep / (ds.dtMs! / 1000), 9);
    expect(d.participationRatio).toBeGreaterThanOrEqual(1);
    expect(d.participationRatio).toBeLessThanOrEqual(20);
    const lengths = Array.from({ length: 8 }, (_, i) => (ds as TaskDataset).trial('test', i).steps);
    expect(d.prSamples).toEqual({ trials: 8, steps: lengths.reduce((a, b) => a + b, 0) });
    // diag(ḡ)J: ḡ_j = mean of 1 − tanh²(x_j) over the trials' own steps, by hand from the forward pass; its trace is Σ ḡ_j J_jj.
    const batch = ds.batch('test', Int32Array.from({ length: 8 }, (_, i) => i));
    const pre = (model.forward(params, batch.x, { training: false }).trace[0]!.pre.arraySync() as number[][][]).flatMap((trial, i) => trial.slice(0, lengths[i]));
    const g = Array.from({ length: 20 }, (_, j) => pre.reduce((a, x) => a + 1 - Math.tanh(x[j]!) ** 2, 0) / pre.length);
    expect(d.gainEigenvalues.length).toBe(20);
    expect(d.gainEigenvalues.reduce((a, v) => a + v.re, 0)).toBeCloseTo(Jm.reduce((a, r, j) => a + g[j]! * r[j]!, 0), 4);
    expect(Math.abs(Jm.reduce((a, r, j) => a + g[j]! * r[j]!, 0))).toBeGreaterThan(0.01);
    expect(d.gainSpectralRadius).toBeLessThan(d.spectralRadius);
  });

  it('leaves out the padding of shorter trials from the participation ratio', async () => {
    // ready-set-go trials vary in length; each is padded to the longest.
    const e = tasks.get('ready-set-go');
    const ds = (await e.load(resolveOptions('task', e.options ?? [], { trials: 8, testTrials: 8 }))) as TaskDataset;
    const T = ds.inputShape[0]!;
    const lengths = Array.from({ length: 8 }, (_, i) => ds.trial('test', i).steps);
    expect(Math.min(...lengths)).toBeLessThan(T);
    const model = createRnn({ ...optionDefaults(rnnOptions), units: 12, tau: 100, activation: 'tanh', gain: 1.5, sparsity: 1, dale: 0, trainX0: false, recNoise: 0, inputNoise: 0 }, { inputShape: ds.inputShape, outputSize: ds.outputSize, dtMs: ds.dtMs });
    const params = model.init(new Rng('pad'));
    const d = rnnDynamics(model, params, ds, { split: 'test', points: 8, steps: 100, transient: 20 }, new Rng('pad-start'));
    // By hand: the rates of each trial's own steps only.
    const batch = ds.batch('test', Int32Array.from({ length: 8 }, (_, i) => i));
    const post = model.forward(params, batch.x, { training: false }).trace[0]!.post.arraySync() as number[][][];
    const own = post.flatMap((trial, i) => trial.slice(0, lengths[i]));
    const all = post.flat();
    const [ownT, allT] = [tf.tensor2d(own), tf.tensor2d(all)];
    expect(d.prSamples.steps).toBe(own.length);
    expect(d.participationRatio).toBeCloseTo(participationRatio(ownT), 4);
    expect(Math.abs(participationRatio(allT) - d.participationRatio)).toBeGreaterThan(1e-3);
    tf.dispose([ownT, allT, batch.x, batch.y, ...(batch.mask ? [batch.mask] : [])]);
  });
});
