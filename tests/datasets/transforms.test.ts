/** Data options of the GLN study (--binary, --pixels, --bias-input, --train-size) and the sigmoid + BCE loss. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadMnistMini } from '../../datasets/mnist.js';
import { parseBinary } from '../../datasets/transforms.js';
import { withSecondOrderGradients } from '../../src/analysis/second-order.js';
import { UsageError } from '../../src/errors.js';
import { lossFor } from '../../src/losses.js';
import { resolveOptions } from '../../src/options.js';
import { datasets } from '../../src/registries.js';
import { runCli } from '../helpers.js';

describe('data transforms', () => {
  const plain = loadMnistMini({ val: 0 });

  it('--binary 0-4:5-9 keeps every digit, labels 0–4 as 0 and 5–9 as 1, one sigmoid output', () => {
    const ds = loadMnistMini({ val: 0, binary: '0-4:5-9' });
    expect(ds.outputSize).toBe(1);
    expect(ds.loss).toBe('sigmoid-bce');
    expect(ds.size('train')).toBe(plain.size('train'));
    const before = plain.arrays('train').y;
    const after = ds.arrays('train').y;
    before.forEach((d, i) => expect(after[i]).toBe(d >= 5 ? 1 : 0));
  });

  it('--binary 3:8 drops the other digits and keeps the inputs with their labels', () => {
    const ds = loadMnistMini({ val: 0, binary: '3:8' });
    const p = plain.arrays('test');
    const idx = Array.from(p.y).flatMap((d, i) => (d === 3 || d === 8 ? [i] : []));
    expect(ds.size('test')).toBe(idx.length);
    const t = ds.arrays('test');
    idx.slice(0, 20).forEach((j, k) => {
      expect(t.y[k]).toBe(p.y[j] === 8 ? 1 : 0);
      expect(Array.from(t.x.subarray(k * 784, (k + 1) * 784))).toEqual(Array.from(p.x.subarray(j * 784, (j + 1) * 784)));
    });
  });

  it('parses label sets and names what is wrong', () => {
    expect(parseBinary('0-4:5-9')).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
    expect(parseBinary('1,3,5-6:0')).toEqual([[1, 3, 5, 6], [0]]);
    expect(() => parseBinary('0-4')).toThrow(/two label sets/);
    expect(() => parseBinary('0-4:4-9')).toThrow(/label 4 in both/);
    expect(() => parseBinary('4-0:5')).toThrow(/backwards/);
    expect(() => loadMnistMini({ val: 0, binary: '0:12' })).toThrow(UsageError);
  });

  it('--pixels -1..1 maps [0, 1] to [−1, 1]; --bias-input appends a constant 1', () => {
    const ds = loadMnistMini({ val: 0, pixels: '-1..1', biasInput: true });
    expect(ds.inputShape).toEqual([785]);
    const x = ds.arrays('train').x;
    const p = plain.arrays('train').x;
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 784; k += 97) expect(x[i * 785 + k]).toBeCloseTo(2 * p[i * 784 + k]! - 1, 6);
      expect(x[i * 785 + 784]).toBe(1);
    }
    let min = Infinity;
    for (let k = 0; k < 785 * 100; k++) min = Math.min(min, x[k]!);
    expect(min).toBe(-1);
  });

  it('--train-size draws a subset from the run seed: same seed, same subset', () => {
    const a = loadMnistMini({ val: 0, binary: '0-4:5-9', trainSize: 500 }, 1);
    const b = loadMnistMini({ val: 0, binary: '0-4:5-9', trainSize: 500 }, 1);
    const c = loadMnistMini({ val: 0, binary: '0-4:5-9', trainSize: 500 }, 2);
    expect(a.size('train')).toBe(500);
    expect(a.size('test')).toBe(plain.size('test'));
    expect(Array.from(a.arrays('train').x.subarray(0, 784 * 5))).toEqual(Array.from(b.arrays('train').x.subarray(0, 784 * 5)));
    expect(Array.from(a.arrays('train').x.subarray(0, 784 * 5))).not.toEqual(Array.from(c.arrays('train').x.subarray(0, 784 * 5)));
    // Both classes are present in roughly their share.
    const ones = a.arrays('train').y.reduce((s, v) => s + v, 0);
    expect(ones).toBeGreaterThan(200);
    expect(ones).toBeLessThan(300);
    expect(() => loadMnistMini({ val: 0, trainSize: 9000 })).toThrow(/--train-size 9000 is more than the 8000/);
  });

  it('are options of every image dataset, validated like any flag', () => {
    for (const name of ['mnist', 'mnist-mini', 'fashion-mnist', 'kmnist', 'idx']) {
      const keys = (datasets.get(name).options ?? []).map((o) => o.key);
      expect(keys).toEqual(expect.arrayContaining(['binary', 'pixels', 'biasInput', 'trainSize']));
    }
    const opts = datasets.get('mnist-mini').options ?? [];
    expect(() => resolveOptions('dataset mnist-mini', opts, { binary: '0-4' })).toThrow(/--binary must be two label sets/);
    expect(() => resolveOptions('dataset mnist-mini', opts, { pixels: '0..255' })).toThrow(/--pixels must be one of 0..1, -1..1/);
  });

  it('the CLI refuses a bad --binary with one line', () => {
    const r = runCli(['train', '--dataset', 'mnist-mini', '--binary', '0-4:4-9', '--steps', '1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--binary puts label 4 in both classes/);
  });
});

describe('sigmoid + binary cross-entropy', () => {
  const loss = lossFor('sigmoid-bce');
  const z = [[2.5], [-0.3], [40], [-40], [-0.7]];
  const y = [1, 1, 0, 0, 1];
  const batch = () => ({ x: tf.zeros([5, 1]), y: tf.tensor1d(y, 'int32'), size: 5 });

  it('equals −mean(y log σ(z) + (1−y) log(1−σ(z))), stably at large |z|', () => {
    const expected =
      z.reduce((s, [v], i) => {
        const m = (2 * y[i]! - 1) * v!;
        return s + (m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m)));
      }, 0) / 5;
    expect(loss.value(tf.tensor2d(z), batch()).dataSync()[0]).toBeCloseTo(expected, 5);
    expect(Number.isFinite(expected)).toBe(true);
  });

  it('outputGrad is the gradient of the value, and correct counts sign agreement', () => {
    const zt = tf.tensor2d(z);
    const b = batch();
    const auto = tf.grad((o: tf.Tensor) => loss.value(o, b))(zt).dataSync();
    const mine = loss.outputGrad(zt, b).dataSync();
    auto.forEach((v, i) => expect(mine[i]).toBeCloseTo(v, 6));
    // z > 0 ↔ y = 1: right at 0 (2.5) and 3 (−40 for y = 0); wrong at 1, 2 and 4.
    expect(loss.correct(zt, b).dataSync()[0]).toBe(2);
  });

  it('has the closed-form Hessian σ(1−σ)/B on the diagonal (second-order safe)', () => {
    const zt = tf.tensor2d(z.slice(0, 3));
    const b = { x: tf.zeros([3, 1]), y: tf.tensor1d(y.slice(0, 3), 'int32'), size: 3 };
    const v = tf.tensor2d([[1], [0.5], [-2]]);
    // Under the second-order-safe gradients the Hessian analyses use (tfjs's own Exp gradient is not).
    const hv = withSecondOrderGradients(() => tf.grad((o: tf.Tensor) => tf.sum(tf.mul(tf.grad((q: tf.Tensor) => loss.value(q, b))(o), v)))(zt).dataSync());
    const s = (t: number) => 1 / (1 + Math.exp(-t));
    [1, 0.5, -2].forEach((vi, i) => expect(hv[i]).toBeCloseTo((s(z[i]![0]!) * (1 - s(z[i]![0]!)) * vi) / 3, 6));
  });
});
