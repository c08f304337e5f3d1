import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createMlp, mlpOptions } from '../../models/mlp.js';
import { Rng } from '../../src/rng.js';
import { optionDefaults } from '../../src/options.js';

const std = (a: ArrayLike<number>) => {
  const v = Array.from(a);
  const m = v.reduce((s, x) => s + x, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
};

/** Row-vector dense layer in plain JavaScript: out[b][j] = Σ_i x[b][i] W[i][j] + bias[j]. */
function dense(x: number[][], w: number[][], b: number[]): number[][] {
  return x.map((row) => b.map((bj, j) => row.reduce((s, xi, i) => s + xi * w[i]![j]!, bj)));
}

describe('mlp', () => {
  it('declares [fanIn, fanOut] weights and flattens image inputs', () => {
    const m = createMlp({ ...optionDefaults(mlpOptions), hidden: [5, 3], activation: 'tanh', init: 'kaiming', initScale: 1 }, { inputShape: [2, 2, 1], outputSize: 4 });
    expect(Object.fromEntries(Object.entries(m.specs).map(([k, s]) => [k, s.shape]))).toEqual({
      'l0/W': [4, 5],
      'l0/b': [5],
      'l1/W': [5, 3],
      'l1/b': [3],
      'l2/W': [3, 4],
      'l2/b': [4],
    });
    expect(m.sizes).toEqual([4, 5, 3, 4]);
  });

  it('computes the forward pass and its trace like a hand-written network', () => {
    const m = createMlp({ ...optionDefaults(mlpOptions), hidden: [3], activation: 'tanh', init: 'normal', initScale: 0.5 }, { inputShape: [4], outputSize: 2 });
    const p = m.init(new Rng('mlp-forward'));
    p['l0/b'] = tf.tensor([0.1, -0.2, 0.3]);
    const xs = [
      [1, 0, -1, 0.5],
      [0.2, 0.3, 0.4, -2],
    ];
    const { output, trace } = m.forward(p, tf.tensor(xs));
    const w0 = p['l0/W']!.arraySync() as number[][];
    const w1 = p['l1/W']!.arraySync() as number[][];
    const a0 = dense(xs, w0, [0.1, -0.2, 0.3]);
    const h0 = a0.map((r) => r.map(Math.tanh));
    const a1 = dense(h0, w1, [0, 0]);
    (output.arraySync() as number[][]).forEach((r, i) => r.forEach((v, j) => expect(v).toBeCloseTo(a1[i]![j]!, 5)));
    expect(trace.map((t) => t.name)).toEqual(['l0', 'l1']);
    (trace[0]!.pre.arraySync() as number[][]).forEach((r, i) => r.forEach((v, j) => expect(v).toBeCloseTo(a0[i]![j]!, 5)));
    (trace[0]!.post.arraySync() as number[][]).forEach((r, i) => r.forEach((v, j) => expect(v).toBeCloseTo(h0[i]![j]!, 5)));
    expect(trace[1]!.input).toBe(trace[0]!.post);
    expect(trace[1]!.post).toBe(output);
  });

  it.each([
    ['kaiming', 1, Math.sqrt(2 / 784)],
    ['xavier', 1, Math.sqrt(2 / (784 + 256))],
    ['normal', 0.05, 0.05],
    ['kaiming', 0.5, 0.5 * Math.sqrt(2 / 784)],
    ['torch', 1, 1 / Math.sqrt(3 * 784)],
  ] as const)('initialises %s (scale %s) with the stated std', (init, scale, expected) => {
    const m = createMlp({ ...optionDefaults(mlpOptions), hidden: [256], activation: 'relu', init, initScale: scale }, { inputShape: [784], outputSize: 10 });
    const p = m.init(new Rng(`init-${init}`));
    expect(std(p['l0/W']!.dataSync()) / expected).toBeCloseTo(1, 1);
    expect(Array.from(p['l0/b']!.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose(Object.values(p));
  });

  it('draws torch init uniformly within ±scale/sqrt(fanIn)', () => {
    const m = createMlp({ ...optionDefaults(mlpOptions), hidden: [64], activation: 'relu', init: 'torch', initScale: 2 }, { inputShape: [100], outputSize: 3 });
    const p = m.init(new Rng('init-torch-bound'));
    const w = Array.from(p['l0/W']!.dataSync());
    const bound = 2 / Math.sqrt(100);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    // fills the interval (a normal of the same std would put ~8% of its draws beyond it)
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.99 * bound);
    tf.dispose(Object.values(p));
  });

  it('draws the same weights from the same stream', () => {
    const m = createMlp({ ...optionDefaults(mlpOptions), hidden: [8], activation: 'relu', init: 'kaiming', initScale: 1 }, { inputShape: [6], outputSize: 3 });
    const a = m.init(new Rng('same'));
    const b = m.init(new Rng('same'));
    expect(Array.from(a['l1/W']!.dataSync())).toEqual(Array.from(b['l1/W']!.dataSync()));
  });
});
