/** BPTT and truncated BPTT against a hand-written backward pass through time. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRnn, rnnOptions } from '../../models/rnn.js';
import { createBptt, createTbptt } from '../../rules/bptt.js';
import { lossFor } from '../../src/losses.js';
import { Rng } from '../../src/rng.js';
import type { Batch, LearningRule } from '../../src/types.js';
import { optionDefaults } from '../../src/options.js';

const [B, T, N, I, O] = [2, 6, 4, 2, 1];
const alpha = 0.25;

/**
 * Gradients of L = Σ_{b,t} m ½(z − y)² / Σ m for x_{t+1} = (1−α)x_t + α(tanh(x_t) J + u_t W_in + b),
 * z_t = tanh(x_{t+1}) W_out + b_out, in double precision; with `k`, the gradient through the
 * state entering step t is dropped whenever t > 0 and t % k = 0.
 */
function handGradients(p: Record<string, number[][] | number[]>, u: number[][][], y: number[][][], m: number[][], k = Infinity) {
  const J = p['rnn/J'] as number[][];
  const Win = p['rnn/Win'] as number[][];
  const Wout = p['rnn/Wout'] as number[][];
  const b = p['rnn/b'] as number[];
  const bout = p['rnn/bout'] as number[];
  const M = m.flat().reduce((a, v) => a + v, 0);
  const g = {
    J: J.map((r) => r.map(() => 0)),
    Win: Win.map((r) => r.map(() => 0)),
    b: b.map(() => 0),
    Wout: Wout.map((r) => r.map(() => 0)),
    bout: bout.map(() => 0),
  };
  const dtanh = (v: number) => 1 - Math.tanh(v) ** 2;
  for (let n = 0; n < B; n++) {
    const s: number[][] = [];
    let x = new Array(N).fill(0);
    for (let t = 0; t < T; t++) {
      const r = x.map(Math.tanh);
      x = x.map((xi, i) => (1 - alpha) * xi + alpha * (r.reduce((a, rj, j) => a + rj * J[j]![i]!, 0) + u[n]![t]!.reduce((a, uk, kk) => a + uk * Win[kk]![i]!, 0) + b[i]!));
      s.push(x);
    }
    let carry = new Array(N).fill(0);
    for (let t = T - 1; t >= 0; t--) {
      const rho = s[t]!.map(Math.tanh);
      const z = rho.reduce((a, v, j) => a + v * Wout[j]![0]!, 0) + bout[0]!;
      const dz = (m[n]![t]! * (z - y[n]![t]![0]!)) / M;
      rho.forEach((v, j) => (g.Wout[j]![0]! += v * dz));
      g.bout[0]! += dz;
      const ds = s[t]!.map((v, i) => dz * Wout[i]![0]! * dtanh(v) + carry[i]!);
      const prev = t > 0 ? s[t - 1]! : new Array(N).fill(0);
      const rPrev = prev.map(Math.tanh);
      for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) g.J[j]![i]! += alpha * rPrev[j]! * ds[i]!;
      for (let kk = 0; kk < I; kk++) for (let i = 0; i < N; i++) g.Win[kk]![i]! += alpha * u[n]![t]![kk]! * ds[i]!;
      for (let i = 0; i < N; i++) g.b[i]! += alpha * ds[i]!;
      const cut = t > 0 && t % k === 0;
      carry = cut ? new Array(N).fill(0) : prev.map((v, j) => (1 - alpha) * ds[j]! + alpha * dtanh(v) * ds.reduce((a, di, i) => a + J[j]![i]! * di, 0));
    }
  }
  return g;
}

function setup() {
  const model = createRnn({ ...optionDefaults(rnnOptions), units: N, tau: 100, activation: 'tanh', gain: 1.5, sparsity: 1, dale: 0, trainX0: false, recNoise: 0, inputNoise: 0 }, { inputShape: [T, I], outputSize: O, dtMs: 25 });
  const params = model.init(new Rng('bptt-hand'));
  const rng = new Rng('bptt-data');
  const u = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: I }, () => rng.normal())));
  const y = Array.from({ length: B }, () => Array.from({ length: T }, () => [rng.normal()]));
  const m = Array.from({ length: B }, () => Array.from({ length: T }, (_, t) => (t >= 2 ? 1 : 0)));
  const batch: Batch = { x: tf.tensor3d(u), y: tf.tensor3d(y), mask: tf.tensor2d(m), size: B };
  const plain = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.arraySync() as number[][] | number[]]));
  return { model, params, batch, u, y, m, plain };
}

function ruleGradients(rule: LearningRule) {
  const { model, params, batch } = setup();
  const out = rule.step({ model, params, batch, loss: lossFor('mse'), state: { tensors: {} }, step: 0, rng: new Rng('r') });
  return Object.fromEntries(Object.entries(out.updates).map(([k, v]) => [k.replace('rnn/', ''), (v.arraySync() as number[][] | number[]).flat()]));
}

describe('bptt and tbptt against the hand-written backward pass', () => {
  const { u, y, m, plain } = setup();

  it.each([
    ['bptt', createBptt(), Infinity],
    ['tbptt k=2', createTbptt({ window: 2 }), 2],
    ['tbptt k=4', createTbptt({ window: 4 }), 4],
  ] as const)('%s', (_name, rule, k) => {
    const got = ruleGradients(rule);
    const want = handGradients(plain, u, y, m, k);
    for (const [name, w] of Object.entries(want)) {
      const flat = (w as number[] | number[][]).flat();
      const scale = Math.max(...flat.map(Math.abs));
      expect(got[name]!.length).toBe(flat.length);
      flat.forEach((v, i) => expect(Math.abs(got[name]![i]! - v) / scale).toBeLessThan(1e-4));
    }
  });

  it('tbptt with a window ≥ T is bptt; a short window is not', () => {
    const full = ruleGradients(createBptt());
    const long = ruleGradients(createTbptt({ window: T }));
    const short = ruleGradients(createTbptt({ window: 1 }));
    expect(long['J']).toEqual(full['J']);
    expect(short['J']).not.toEqual(full['J']);
  });
});
