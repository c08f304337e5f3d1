/**
 * e-prop and RFLO against independent derivations: where their approximations
 * are exact (no recurrent credit: J = 0; for RFLO also a linear activation),
 * with symmetric feedback they must equal the exact gradient (BPTT by autodiff);
 * with J ≠ 0 their updates must match the trace recursions written out by hand.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRnn, rnnOptions } from '../../models/rnn.js';
import { createBptt } from '../../rules/bptt.js';
import { createMlp, mlpOptions } from '../../models/mlp.js';
import { createEprop, eprop } from '../../rules/eprop.js';
import { createRflo, rflo } from '../../rules/rflo.js';
import { checkRequirements } from '../../src/capabilities.js';
import type { ActivationName } from '../../src/activations.js';
import { Rng } from '../../src/rng.js';
import type { Params } from '../../src/types.js';
import { expectClose, randomTrial, updatesOf } from './temporal-helpers.js';
import { optionDefaults } from '../../src/options.js';

const [B, T, N, I, O] = [2, 7, 5, 2, 2];
const alpha = 0.25;

function setup(act: ActivationName, zeroJ: boolean) {
  const model = createRnn({ ...optionDefaults(rnnOptions), units: N, tau: 100, activation: act, gain: 1.3, sparsity: 1, dale: 0, trainX0: false, recNoise: 0, inputNoise: 0 }, { inputShape: [T, I], outputSize: O, dtMs: 25 });
  const params = model.init(new Rng(`traces-${act}`));
  if (zeroJ) {
    params['rnn/J']!.dispose();
    params['rnn/J'] = tf.zeros([N, N]);
  }
  params['rnn/b']!.dispose();
  params['rnn/b'] = tf.tensor1d([0.1, -0.3, 0.2, 0, 0.4]);
  const { u, y, m, batch } = randomTrial('traces-data', [B, T, I, O]);
  return { model, params, batch, u, y, m };
}

describe('e-prop and RFLO where they are exact', () => {
  it('e-prop (symmetric) equals BPTT when J = 0, for a tanh network with leak', () => {
    const s = setup('tanh', true);
    const exact = updatesOf(createBptt(), s);
    const eprop = updatesOf(createEprop({ feedback: 'symmetric', feedbackScale: 1 }), s);
    for (const k of ['rnn/J', 'rnn/Win', 'rnn/b', 'rnn/Wout', 'rnn/bout']) expectClose(eprop[k]!, exact[k]!);
  });

  it('RFLO (symmetric) equals BPTT when J = 0 and the activation is linear; not for tanh', () => {
    const lin = setup('linear', true);
    const exact = updatesOf(createBptt(), lin);
    const rflo = updatesOf(createRflo({ feedback: 'symmetric', feedbackScale: 1 }), lin);
    for (const k of ['rnn/J', 'rnn/Win', 'rnn/b', 'rnn/Wout', 'rnn/bout']) expectClose(rflo[k]!, exact[k]!);
    const th = setup('tanh', true);
    const a = updatesOf(createRflo({ feedback: 'symmetric', feedbackScale: 1 }), th)['rnn/J']!;
    const b = updatesOf(createBptt(), th)['rnn/J']!;
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeGreaterThan(1e-4);
  });
});

describe('trace recursions with recurrence (J ≠ 0), written out by hand', () => {
  /** Forward in double precision: rates in, ψ, and dz for the masked mse loss. */
  function hand(s: ReturnType<typeof setup>) {
    const p = Object.fromEntries(Object.entries(s.params).map(([k, v]) => [k, v.arraySync()])) as Record<string, number[][] & number[]>;
    const M = s.m.flat().reduce((a, v) => a + v, 0);
    const steps: { r: number[]; u: number[]; psi: number[]; dz: number[] }[][] = [];
    for (let n = 0; n < B; n++) {
      let x = new Array(N).fill(0);
      const seq = [];
      for (let t = 0; t < T; t++) {
        const r = x.map(Math.tanh);
        const u = s.u[n]![t]!;
        x = x.map((xi, i) => (1 - alpha) * xi + alpha * (r.reduce((a, rj, j) => a + rj * p['rnn/J']![j]![i]!, 0) + u.reduce((a, uk, k) => a + uk * p['rnn/Win']![k]![i]!, 0) + p['rnn/b']![i]!));
        const rho = x.map(Math.tanh);
        const z = Array.from({ length: O }, (_, k) => rho.reduce((a, v, j) => a + v * p['rnn/Wout']![j]![k]!, 0) + p['rnn/bout']![k]!);
        const dz = z.map((zk, k) => (s.m[n]![t]! * (zk - s.y[n]![t]![k]!)) / M);
        seq.push({ r, u, psi: rho.map((v) => 1 - v * v), dz });
      }
      steps.push(seq);
    }
    const signal = (dz: number[]) => Array.from({ length: N }, (_, i) => dz.reduce((a, d, k) => a + d * p['rnn/Wout']![i]![k]!, 0));
    return { steps, signal };
  }

  it('e-prop: ΔJ = Σ_t ε_tᵀ (L_t ⊙ ψ_t), ε_t = (1−α)ε_{t−1} + α r_t (u_t for W_in, 1 for b)', () => {
    const s = setup('tanh', false);
    const { steps, signal } = hand(s);
    const dJ = new Array(N * N).fill(0);
    const dWin = new Array(I * N).fill(0);
    const db = new Array(N).fill(0);
    for (const seq of steps) {
      let eps = new Array(N).fill(0);
      let epsIn = new Array(I).fill(0);
      let epsB = 0;
      for (const st of seq) {
        eps = eps.map((e, j) => (1 - alpha) * e + alpha * st.r[j]!);
        const L = signal(st.dz);
        for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) dJ[j * N + i] += eps[j]! * L[i]! * st.psi[i]!;
        epsIn = epsIn.map((e, k) => (1 - alpha) * e + alpha * st.u[k]!);
        epsB = (1 - alpha) * epsB + alpha;
        for (let k = 0; k < I; k++) for (let i = 0; i < N; i++) dWin[k * N + i] += epsIn[k]! * L[i]! * st.psi[i]!;
        for (let i = 0; i < N; i++) db[i] += epsB * L[i]! * st.psi[i]!;
      }
    }
    const rule = updatesOf(createEprop({ feedback: 'symmetric', feedbackScale: 1 }), s);
    expectClose(rule['rnn/J']!, dJ);
    expectClose(rule['rnn/Win']!, dWin);
    expectClose(rule['rnn/b']!, db);
  });

  it('RFLO: ΔJ = Σ_t L_t[i] p_t[j, i], p_t = (1−α)p_{t−1} + α ψ_t[i] r_t[j] (u_t for W_in, 1 for b), the per-step trace form', () => {
    const s = setup('tanh', false);
    const { steps, signal } = hand(s);
    const dJ = new Array(N * N).fill(0);
    const dWin = new Array(I * N).fill(0);
    const db = new Array(N).fill(0);
    for (const seq of steps) {
      let pJ = new Array(N * N).fill(0);
      let pIn = new Array(I * N).fill(0);
      let pB = new Array(N).fill(0);
      for (const st of seq) {
        pJ = pJ.map((v, k) => (1 - alpha) * v + alpha * st.psi[k % N]! * st.r[Math.floor(k / N)]!);
        pIn = pIn.map((v, k) => (1 - alpha) * v + alpha * st.psi[k % N]! * st.u[Math.floor(k / N)]!);
        pB = pB.map((v, i) => (1 - alpha) * v + alpha * st.psi[i]!);
        const L = signal(st.dz);
        for (let k = 0; k < N * N; k++) dJ[k] += L[k % N]! * pJ[k]!;
        for (let k = 0; k < I * N; k++) dWin[k] += L[k % N]! * pIn[k]!;
        for (let i = 0; i < N; i++) db[i] += L[i]! * pB[i]!;
      }
    }
    const rule = updatesOf(createRflo({ feedback: 'symmetric', feedbackScale: 1 }), s);
    expectClose(rule['rnn/J']!, dJ);
    expectClose(rule['rnn/Win']!, dWin);
    expectClose(rule['rnn/b']!, db);
  });

  it('random feedback is fixed per run and used for the learning signal', () => {
    const s = setup('tanh', false);
    const rule = createRflo({ feedback: 'random', feedbackScale: 1 });
    const st1 = rule.init(s.model, s.params, new Rng('fb-a'));
    const st2 = rule.init(s.model, s.params, new Rng('fb-a'));
    expect(Array.from(st1.tensors['B']!.dataSync())).toEqual(Array.from(st2.tensors['B']!.dataSync()));
    expect(st1.tensors['B']!.shape).toEqual([O, N]);
    const sym = updatesOf(createRflo({ feedback: 'symmetric', feedbackScale: 1 }), s)['rnn/J']!;
    const rnd = updatesOf(rule, s)['rnn/J']!;
    expect(rnd).not.toEqual(sym);
    // --feedback-scale multiplies B (and so, linearly, the recurrent updates); the readout's update is unchanged.
    const st3 = createRflo({ feedback: 'random', feedbackScale: 3 }).init(s.model, s.params, new Rng('fb-a'));
    Array.from(st3.tensors['B']!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(3 * st1.tensors['B']!.dataSync()[i]!, 5));
    const scaled = updatesOf(createRflo({ feedback: 'random', feedbackScale: 3 }), s);
    scaled['rnn/J']!.forEach((v, i) => expect(v).toBeCloseTo(3 * rnd[i]!, 5));
  });

  it('refuses models without a recurrent step and rate dynamics, naming both', () => {
    const mlp = createMlp({ ...optionDefaults(mlpOptions), hidden: [4] }, { inputShape: [3], outputSize: 2 });
    expect(() => checkRequirements('rule eprop', eprop.requires, mlp)).toThrow(/^rule eprop needs a recurrent step and rate dynamics; model mlp does not provide them$/);
    const s = setup('tanh', false);
    // A recurrent model that is not a rate network: the step alone does not do.
    const { rate: _rate, ...stepOnly } = s.model;
    expect(() => checkRequirements('rule rflo', rflo.requires, { ...stepOnly, name: 'spiking' })).toThrow(/^rule rflo needs rate dynamics; model spiking does not provide them$/);
    expect(() => checkRequirements('rule rflo', rflo.requires, s.model)).not.toThrow();
  });
});
