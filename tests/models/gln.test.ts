/** Gated linear networks: forward pass by hand, gates (median thresholds, never trained, saved), homogeneity, margins. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createGln, type GlnOptions } from '../../models/gln.js';
import { normalizedMargin } from '../../analyses/margin.js';
import { readParamsDir } from '../../src/checkpoint.js';
import { ArrayDataset } from '../../src/data.js';
import { UsageError } from '../../src/errors.js';
import { datasets } from '../../src/registries.js';
import { Rng } from '../../src/rng.js';
import { train } from '../../src/trainer.js';
import { tempDir } from '../helpers.js';
import { join } from 'node:path';

const base: GlnOptions = { hidden: [3], gates: 2, threshold: 'random', init: 'normal', initScale: 0.5, initRank: 0 };

const mat = (t: tf.Tensor) => t.arraySync() as number[][];

describe('gln', () => {
  it('declares one weight vector per context and fixed gates', () => {
    const m = createGln(base, { inputShape: [4], outputSize: 1 });
    expect(Object.fromEntries(Object.entries(m.specs).map(([k, s]) => [k, [s.shape, s.trainable ?? true]]))).toEqual({
      'l0/W': [[4, 12], true],
      'l0/gateU': [[4, 6], false],
      'l0/gateT': [[6], false],
      'l1/W': [[3, 1], true],
    });
    expect(m.homogeneity).toBe(2);
    const shallow = createGln({ ...base, hidden: [] }, { inputShape: [4], outputSize: 1 });
    expect(shallow.gated.layers.map((l) => [l.units, l.contexts, l.gated])).toEqual([[1, 4, true]]);
  });

  it('computes h_j = W[:, j·C + c_j(x)] · x with c_j from the hyperplane tests, then a linear readout', () => {
    const m = createGln(base, { inputShape: [4], outputSize: 1 });
    const p = m.init(new Rng('gln-forward'));
    const xs = [
      [1, -0.5, 0.3, 1],
      [-0.2, 0.8, -1, 1],
      [0.5, 0.5, 0.5, 1],
    ];
    const U = mat(p['l0/gateU']!);
    const T = Array.from(p['l0/gateT']!.dataSync());
    const W0 = mat(p['l0/W']!);
    const W1 = mat(p['l1/W']!);
    const expected = xs.map((x) => {
      let out = 0;
      for (let j = 0; j < 3; j++) {
        let c = 0;
        for (let k = 0; k < 2; k++) {
          const proj = x.reduce((s, v, i) => s + v * U[i]![j * 2 + k]!, 0);
          if (proj > T[j * 2 + k]!) c += 2 ** k;
        }
        const h = x.reduce((s, v, i) => s + v * W0[i]![j * 4 + c]!, 0);
        out += h * W1[j]![0]!;
      }
      return out;
    });
    const got = m.forward(p, tf.tensor2d(xs)).output.dataSync();
    expected.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    tf.dispose(Object.values(p));
  });

  it('is homogeneous of degree L in its weights: f(cθ) = c^L f(θ)', () => {
    const m = createGln(base, { inputShape: [4], outputSize: 1 });
    const p = m.init(new Rng('gln-homog'));
    const x = tf.tensor2d(new Rng('x').normals(20), [5, 4]);
    const scaled = { ...p, 'l0/W': tf.mul(p['l0/W']!, 3), 'l1/W': tf.mul(p['l1/W']!, 3) };
    const a = m.forward(p, x).output.dataSync();
    const b = m.forward(scaled, x).output.dataSync();
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(9 * v, 4));
  });

  it('median thresholds split the training inputs in half on every hyperplane', () => {
    const rng = new Rng('gln-median');
    const n = 200;
    const xs = tf.tensor2d(rng.normals(n * 6), [n, 6]);
    const m = createGln({ ...base, threshold: 'median', gates: 3 }, { inputShape: [6], outputSize: 1, trainInputs: () => tf.clone(xs) });
    const p = m.init(new Rng('init'));
    const above = tf.tidy(() => tf.sum(tf.cast(tf.greater(tf.matMul(xs, p['l0/gateU'] as tf.Tensor2D), p['l0/gateT']!), 'int32'), 0).arraySync() as number[]);
    expect(above).toEqual(new Array(9).fill(n / 2));
    expect(() => createGln({ ...base, threshold: 'median' }, { inputShape: [6], outputSize: 1 })).toThrow(UsageError);
  });

  it('never trains its gates; checkpoints carry them', async () => {
    const rng = new Rng('gln-data');
    const n = 256;
    const x = rng.normals(n * 5);
    const y = Int32Array.from({ length: n }, (_, i) => (x[i * 5]! + 0.5 * x[i * 5 + 1]! > 0 ? 1 : 0));
    const ds = new ArrayDataset('gln-toy', [5], 1, { train: { x: x.subarray(0, 192 * 5), y: y.subarray(0, 192) }, test: { x: x.subarray(192 * 5), y: y.subarray(192) } }, 'sigmoid-bce');
    if (!datasets.has('gln-toy')) datasets.register({ name: 'gln-toy', description: 'test', load: async () => ds });
    const out = tempDir();
    const s = await train(
      { dataset: 'gln-toy', model: 'gln', modelOptions: { hidden: [8], gates: 2 }, rule: 'bp', optimizer: 'sgd', lr: 0.2, batchSize: 32, steps: 200, seed: 3 },
      { out },
    );
    expect(s.final.test.accuracy).toBeGreaterThan(0.8);
    const init = readParamsDir(join(out, 'init')).params;
    const end = readParamsDir(join(out, 'checkpoint')).params;
    for (const k of ['l0/gateU', 'l0/gateT']) expect(Array.from(end[k]!.dataSync())).toEqual(Array.from(init[k]!.dataSync()));
    expect(Array.from(end['l0/W']!.dataSync())).not.toEqual(Array.from(init['l0/W']!.dataSync()));
  });

  it('normalized margin min_i y_i f(x_i)/‖θ‖^L by hand', () => {
    const m = createGln({ ...base, gates: 0, hidden: [2] }, { inputShape: [2], outputSize: 1 });
    const p = { 'l0/W': tf.tensor2d([[1, 0], [0, 2]]), 'l1/W': tf.tensor2d([[1], [-1]]) };
    // f(x) = x1 − 2 x2; ‖θ‖² = 1 + 4 + 1 + 1 = 7.
    const x = tf.tensor2d([[3, 1], [0, 1], [1, -1]]);
    const r = normalizedMargin(m, p, x, tf.tensor1d([1, 0, 1], 'int32'));
    // margins: +1·1 = 1, −1·(−2) = 2, +1·3 = 3 → min 1.
    expect(r.minMargin).toBeCloseTo(1, 6);
    expect(r.normMargin).toBeCloseTo(1 / 7, 6);
  });
});
