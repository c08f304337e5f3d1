/**
 * Input-Jacobian measures against hand derivations: the three measures from given
 * singular values, and the Jacobians of small MLPs whose ∂h/∂x is written out
 * (a linear network: Wᵀ products; a ReLU layer: the active rows of W₁ᵀ; a tanh
 * layer: diag(1 − h²) W₁ᵀ).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { inputJacobianMeasures, inputJacobians, jacobianMeasures, sensitivityBound } from '../../analyses/input-jacobian.js';
import { createMlp, mlpOptions } from '../../models/mlp.js';
import type { ActivationName } from '../../src/activations.js';
import { optionDefaults } from '../../src/options.js';
import { Rng } from '../../src/rng.js';

const mlp = (activation: ActivationName, w1: number[][], w2: number[][], b1: number[]) => {
  const m = createMlp({ ...optionDefaults(mlpOptions), hidden: [w1[0]!.length], activation, init: 'torch', initScale: 1 }, { inputShape: [w1.length], outputSize: w2[0]!.length });
  const p = m.init(new Rng('input-jacobian'));
  p['l0/W'] = tf.tensor2d(w1);
  p['l0/b'] = tf.tensor1d(b1);
  p['l1/W'] = tf.tensor2d(w2);
  p['l1/b'] = tf.zeros([w2[0]!.length]);
  return { m, p };
};

const W1 = [
  [2, 0, 0],
  [0, 1, 0],
  [0, 0, 0.5],
  [0, 0, 0],
];
const W2 = [
  [1, 0],
  [0, 3],
  [0, 0],
];

describe('jacobianMeasures', () => {
  it('gives Σ log σ, σ₁ and (Σσ²)²/Σσ⁴ from singular values in any order', () => {
    const m = jacobianMeasures([1, 3, 2]);
    expect(m.volume).toBeCloseTo(Math.log(6), 12);
    expect(m.sensitivity).toBe(3);
    expect(m.dimensionality).toBeCloseTo(196 / 98, 12);
    expect(m.rank).toBe(3);
  });

  it('leaves singular values below 10⁻³ σ₁ out of the volume but not out of the dimensionality', () => {
    const m = jacobianMeasures([2, 1e-5, 0]);
    expect(m.volume).toBeCloseTo(Math.log(2), 12);
    expect(m.rank).toBe(1);
    expect(m.dimensionality).toBeCloseTo((4 + 1e-10) ** 2 / (16 + 1e-20), 9);
  });

  it('reads an all-zero Jacobian as −∞ volume, zero sensitivity and dimensionality', () => {
    expect(jacobianMeasures([0, 0])).toEqual({ volume: -Infinity, sensitivity: 0, dimensionality: 0, rank: 0 });
  });
});

describe('inputJacobians', () => {
  it('of a linear MLP are W₁ᵀ (hidden) and (W₁W₂)ᵀ (output), without leaking tensors', () => {
    const { m, p } = mlp('linear', W1, W2, [0.3, -0.2, 0.1]);
    const x = tf.tensor2d([[0.5, -1, 2, 0.25]]);
    const before = tf.memory().numTensors;
    const js = inputJacobians(m, p, x);
    expect(Object.keys(js)).toEqual(['l0', 'output']);
    const got = { l0: js['l0']!.arraySync(), output: js['output']!.arraySync() };
    tf.dispose(Object.values(js));
    expect(tf.memory().numTensors).toBe(before);
    expect(got.l0).toEqual([
      [2, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 0.5, 0],
    ]);
    expect(got.output).toEqual([
      [2, 0, 0, 0],
      [0, 3, 0, 0],
    ]);
    const measures = inputJacobianMeasures(m, p, x);
    // σ(W₁ᵀ) = 2, 1, 0.5; σ((W₁W₂)ᵀ) = 3, 2.
    expect(measures['l0']!.volume).toBeCloseTo(0, 5);
    expect(measures['l0']!.sensitivity).toBeCloseTo(2, 5);
    expect(measures['l0']!.dimensionality).toBeCloseTo(5.25 ** 2 / 17.0625, 4);
    expect(measures['output']!.volume).toBeCloseTo(Math.log(6), 5);
    expect(measures['output']!.sensitivity).toBeCloseTo(3, 5);
    expect(measures['output']!.dimensionality).toBeCloseTo(169 / 97, 4);
  });

  it('of a ReLU layer keep the rows of its active units, of a tanh layer scale them by 1 − h²', () => {
    // Pre-activations at x: x W₁ + b = [1 − 0.5, −1 + 0.2, 1 − 0.4]: unit 1 is off.
    const x = tf.tensor2d([[0.5, -1, 2, 0]]);
    const b1 = [-0.5, 0.2, -0.4];
    const relu = mlp('relu', W1, W2, b1);
    expect(inputJacobians(relu.m, relu.p, x)['l0']!.arraySync()).toEqual([
      [2, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0.5, 0],
    ]);
    const tanh = mlp('tanh', W1, W2, b1);
    const pre = [0.5, -0.8, 0.6];
    const j = inputJacobians(tanh.m, tanh.p, x)['l0']!.arraySync();
    const expected = W1[0]!.map((_, unit) => W1.map((row) => (1 - Math.tanh(pre[unit]!) ** 2) * row[unit]!));
    j.forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(expected[r]![c]!, 6)));
    // Averages over points: the mean of per-point measures.
    const xs = tf.tensor2d([
      [0.5, -1, 2, 0],
      [1, 1, 1, 1],
    ]);
    const both = inputJacobianMeasures(relu.m, relu.p, xs);
    // At [1, 1, 1, 1] the pre-activations are [1.5, 1.2, 0.1]: every unit on, σ = 2, 1, 0.5 (log-volume log 1);
    // at the first point σ = 2, 0.5 (log-volume log 1 again, rank 2).
    expect(both['l0']!.sensitivity).toBeCloseTo(2, 5);
    expect(both['l0']!.volume).toBeCloseTo(0, 5);
    expect(both['l0']!.rank).toBeCloseTo(2.5, 12);
  });
});

describe('sensitivityBound', () => {
  it('of a linear MLP: ∂f/∂z₁ = W₂ᵀ, T = mean ‖x‖²‖W₂‖_F², bound ‖W₁‖₂√T/min‖x‖', () => {
    const { m, p } = mlp('linear', W1, W2, [0.3, -0.2, 0.1]);
    // ‖W₂‖_F² = 10, ‖W₁‖₂ = 2; x has ‖x‖² = 5.3125, 2x four times that.
    const x = tf.tensor2d([[0.5, -1, 2, 0.25]]);
    const before = tf.memory().numTensors;
    const one = sensitivityBound(m, p, x, 3)!;
    expect(tf.memory().numTensors).toBe(before);
    expect(one.weight).toBe('l0/W');
    expect(one.spectralNorm).toBeCloseTo(2, 5);
    expect(one.gaussNewtonTrace).toBeCloseTo(53.125, 3);
    expect(one.bound).toBeCloseTo(2 * Math.sqrt(10), 4);
    expect(one.holds).toBe(true);
    const two = sensitivityBound(m, p, tf.tensor2d([[0.5, -1, 2, 0.25], [1, -2, 4, 0.5]]), 3)!;
    expect(two.gaussNewtonTrace).toBeCloseTo((53.125 + 4 * 53.125) / 2, 3);
    expect(two.minInputNorm).toBeCloseTo(Math.sqrt(5.3125), 6);
    expect(two.bound).toBeCloseTo(10, 4);
    // A measured sensitivity above the bound is reported as such.
    expect(sensitivityBound(m, p, x, 7)!.holds).toBe(false);
  });

  it('holds for random ReLU and tanh MLPs (the measured mean σ₁ never exceeds it)', () => {
    for (const activation of ['relu', 'tanh'] as const) {
      for (const seed of ['a', 'b', 'c']) {
        const m = createMlp({ ...optionDefaults(mlpOptions), hidden: [12, 8], activation, init: 'torch', initScale: 3 }, { inputShape: [6], outputSize: 4 });
        const p = m.init(new Rng(`bound-${seed}`));
        const x = tf.tensor2d(new Rng(`bound-x-${seed}`).normals(5 * 6, 1), [5, 6]);
        const s = inputJacobianMeasures(m, p, x)['output']!.sensitivity;
        const b = sensitivityBound(m, p, x, s)!;
        expect(b.holds).toBe(true);
        expect(b.bound).toBeGreaterThan(s);
        tf.dispose([x, ...Object.values(p)]);
      }
    }
  });
});
