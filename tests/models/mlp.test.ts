import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createMlp, mlpOptions } from '../../models/mlp.js';
import { Rng } from '../../src/rng.js';
import { optionDefaults } from '../../src/options.js';
import { symEig } from '../../src/linalg.js';

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

describe('--init-rank on feedforward weights', () => {
  const sigmas = (t: tf.Tensor) => {
    const [rows, cols] = t.shape as [number, number];
    const m = t.arraySync() as number[][];
    const gram = Array.from({ length: cols }, (_, a) => Array.from({ length: cols }, (_, b) => m.reduce((s, row) => s + row[a]! * row[b]!, 0)));
    return symEig(gram).values.map((l) => Math.sqrt(Math.max(l, 0))).slice(0, Math.min(rows, cols));
  };
  const norm = (t: tf.Tensor) => Math.sqrt(Array.from(t.dataSync()).reduce((s, v) => s + v * v, 0));

  it('truncates every dense weight to rank r at the full draw\'s Frobenius norm; the draw is the same', () => {
    const make = (initRank: number) =>
      createMlp({ ...optionDefaults(mlpOptions), hidden: [10, 9], initRank }, { inputShape: [12], outputSize: 4 }).init(new Rng('init-rank-mlp'));
    const full = make(0);
    const low = make(2);
    for (const w of ['l0/W', 'l1/W', 'l2/W']) {
      const s = sigmas(low[w]!);
      expect(s.filter((v) => v > 1e-5 * s[0]!), w).toHaveLength(2);
      expect(norm(low[w]!)).toBeCloseTo(norm(full[w]!), 4);
      // The top singular directions are the full draw's: the truncation keeps σ₁/σ₂ of the draw.
      const f = sigmas(full[w]!);
      expect(s[0]! / s[1]!).toBeCloseTo(f[0]! / f[1]!, 3);
    }
    expect(Array.from(low['l0/b']!.dataSync()).every((v) => v === 0)).toBe(true);
    // r at or above min(rows, cols) leaves the draw as it is (the 9 × 4 readout at r = 4).
    const four = createMlp({ ...optionDefaults(mlpOptions), hidden: [10, 9], initRank: 4 }, { inputShape: [12], outputSize: 4 }).init(new Rng('init-rank-mlp'));
    expect(Array.from(four['l2/W']!.dataSync())).toEqual(Array.from(full['l2/W']!.dataSync()));
  });

  it('refuses --dale with --init-rank', () => {
    expect(() => createMlp({ ...optionDefaults(mlpOptions), hidden: [8], dale: 0.8, initRank: 2 }, { inputShape: [4], outputSize: 2 })).toThrow(/--init-rank does not combine with --dale/);
  });
});
