/**
 * ModProp against independent derivations: with every unit its own type and a
 * linear network (μ = f' = 1) it must be the exact gradient; with E/I types,
 * μ and ReLU units, it must equal its credit recursion written out by hand in
 * double precision; W_ab must be the block means; and a network without E/I
 * split is refused unless every unit is its own type.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRnn, rnnOptions } from '../../models/rnn.js';
import { createBptt } from '../../rules/bptt.js';
import { createEprop } from '../../rules/eprop.js';
import { blockAverage, createModprop } from '../../rules/modprop.js';
import type { ActivationName } from '../../src/activations.js';
import { UsageError } from '../../src/errors.js';
import { Rng } from '../../src/rng.js';
import { expectClose, randomTrial, updatesOf } from './temporal-helpers.js';
import { optionDefaults } from '../../src/options.js';

const [B, T, N, I, O] = [2, 8, 6, 2, 2];

function setup(act: ActivationName, dale: number) {
  const model = createRnn(
    { ...optionDefaults(rnnOptions), units: N, tau: 100, activation: act, gain: 1.4, sparsity: 1, dale, trainX0: true, recNoise: 0, inputNoise: 0 },
    { inputShape: [T, I], outputSize: O, dtMs: 20 },
  );
  const params = model.init(new Rng(`modprop-${act}-${dale}`));
  params['rnn/b']!.dispose();
  params['rnn/b'] = tf.tensor1d([0.3, -0.1, 0.2, 0.1, 0.4, -0.2]);
  params['rnn/x0']!.dispose();
  params['rnn/x0'] = tf.tensor1d([0.2, -0.3, 0.5, 0.1, -0.1, 0.4]);
  const { u, y, m, batch } = randomTrial('modprop-data', [B, T, I, O], 1);
  return { model, params, batch, u, y, m };
}

const ALL = ['rnn/J', 'rnn/Win', 'rnn/b', 'rnn/Wout', 'rnn/bout', 'rnn/x0'];

describe('modprop', () => {
  it('one cell per type on a linear RNN (μ = f′ = 1) is the exact gradient', () => {
    const s = setup('linear', 0);
    const exact = updatesOf(createBptt(), s);
    const mp = updatesOf(createModprop({ mu: 1, cellTypes: 'each' }), s);
    for (const k of ALL) expectClose(mp[k]!, exact[k]!);
    // …and not once μ differs from f′.
    const off = updatesOf(createModprop({ mu: 0.5, cellTypes: 'each' }), s)['rnn/J']!;
    expect(Math.max(...off.map((v, i) => Math.abs(v - exact['rnn/J']![i]!)))).toBeGreaterThan(1e-3);
  });

  it('with μ = 0 (no non-local credit) it is e-prop with symmetric feedback', () => {
    const s = setup('tanh', 0.6);
    const eprop = updatesOf(createEprop({ feedback: 'symmetric', feedbackScale: 1 }), s);
    const mp = updatesOf(createModprop({ mu: 0, cellTypes: 'ei' }), s);
    for (const k of ['rnn/J', 'rnn/Win', 'rnn/b', 'rnn/Wout', 'rnn/bout']) expectClose(mp[k]!, eprop[k]!);
  });

  it('W_ab holds the mean of every (pre type, post type) block', () => {
    const J = [
      [1, 2, 3, -1],
      [4, 5, 6, 0],
      [7, 8, 9, 2],
      [-3, -6, 0, -9],
    ];
    const got = blockAverage(tf.tensor2d(J), Int32Array.from([0, 0, 0, 1])).arraySync();
    const ee = (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9) / 9;
    const ei = (-1 + 0 + 2) / 3;
    const ie = (-3 - 6 + 0) / 3;
    const want = [
      [ee, ee, ee, ei],
      [ee, ee, ee, ei],
      [ee, ee, ee, ei],
      [ie, ie, ie, -9],
    ];
    got.forEach((row, a) => row.forEach((v, b) => expect(v).toBeCloseTo(want[a]![b]!, 5)));
  });

  it('with E/I types, μ = 0.25 and ReLU units it follows its credit recursion, written out by hand', () => {
    const s = setup('relu', 0.6);
    const mu = 0.25;
    const alpha = s.model.rate!.alpha;
    const p = Object.fromEntries(Object.entries(s.params).map(([k, v]) => [k, v.arraySync()])) as Record<string, number[][] & number[]>;
    const J = p['rnn/J']!.map((row, j) => row.map((v, i) => v * p['rnn/mask']![j]![i]!));
    const types = Array.from(s.model.rate!.signs, (v) => (v > 0 ? 0 : 1));
    const mean = (a: number, b: number) => {
      let sum = 0;
      let n = 0;
      for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) if (types[j] === a && types[i] === b) (sum += J[j]![i]!, n++);
      return sum / n;
    };
    const Wab = J.map((row, j) => row.map((_, i) => mean(types[j]!, types[i]!)));
    const M = s.m.flat().reduce((a, v) => a + v, 0);
    const relu = (v: number) => Math.max(v, 0);
    const want = { J: J.map((r) => r.map(() => 0)), Win: Array.from({ length: I }, () => new Array(N).fill(0)), b: new Array(N).fill(0), x0: new Array(N).fill(0) };
    for (let n = 0; n < B; n++) {
      const xs = [(p["rnn/x0"] as unknown as number[]).slice()];
      for (let t = 0; t < T; t++) {
        const x = xs[t]!;
        const r = x.map(relu);
        xs.push(x.map((xi, i) => (1 - alpha) * xi + alpha * (r.reduce((a, rj, j) => a + rj * J[j]![i]!, 0) + s.u[n]![t]!.reduce((a, uk, k) => a + uk * p['rnn/Win']![k]![i]!, 0) + p['rnn/b']![i]!)));
      }
      let next: number[] | null = null;
      for (let t = T - 1; t >= 0; t--) {
        const x1 = xs[t + 1]!;
        const z = Array.from({ length: O }, (_, k) => x1.reduce((a, v, j) => a + relu(v) * p['rnn/Wout']![j]![k]!, 0) + p['rnn/bout']![k]!);
        const dz = z.map((v, k) => (2 * s.m[n]![t]! * (v - s.y[n]![t]![k]!)) / (M * O));
        const delta = x1.map((v, i) => (v > 0 ? 1 : 0) * dz.reduce((a, d, k) => a + d * p['rnn/Wout']![i]![k]!, 0));
        if (next) for (let i = 0; i < N; i++) delta[i]! += (1 - alpha) * next[i]! + alpha * mu * next.reduce((a, d, k) => a + d * Wab[i]![k]!, 0);
        const r = xs[t]!.map(relu);
        for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) want.J[j]![i]! += alpha * r[j]! * delta[i]! * p['rnn/mask']![j]![i]!;
        for (let k = 0; k < I; k++) for (let i = 0; i < N; i++) want.Win[k]![i]! += alpha * s.u[n]![t]![k]! * delta[i]!;
        for (let i = 0; i < N; i++) want.b[i]! += alpha * delta[i]!;
        next = delta;
      }
      for (let i = 0; i < N; i++) want.x0[i]! += (1 - alpha) * next![i]! + alpha * mu * next!.reduce((a, d, k) => a + d * Wab[i]![k]!, 0);
    }
    const got = updatesOf(createModprop({ mu, cellTypes: 'ei' }), s);
    expectClose(got['rnn/J']!, want.J.flat());
    expectClose(got['rnn/Win']!, want.Win.flat());
    expectClose(got['rnn/b']!, want.b);
    expectClose(got['rnn/x0']!, want.x0);
    // The readout learns by its exact gradient.
    const exact = updatesOf(createBptt(), s);
    expectClose(got['rnn/Wout']!, exact['rnn/Wout']!);
    // And it is not the exact gradient of the recurrent weights.
    expect(Math.max(...got['rnn/J']!.map((v, i) => Math.abs(v - exact['rnn/J']![i]!)))).toBeGreaterThan(1e-5);
  });

  it('refuses a network without E/I split unless every unit is its own type', () => {
    const s = setup('relu', 0);
    expect(() => createModprop({ mu: 0.25, cellTypes: 'ei' }).check!(s.model)).toThrow(UsageError);
    expect(() => createModprop({ mu: 0.25, cellTypes: 'ei' }).check!(s.model)).toThrow(/--dale 0\.8.*--cell-types each/);
    expect(() => createModprop({ mu: 0.25, cellTypes: 'each' }).check!(s.model)).not.toThrow();
  });
});
