/** The rate RNN: dynamics against a hand-written Euler loop, Dale's law, errors. */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRnn, type RnnOptions, rnnOptions } from '../../models/rnn.js';
import { eigenvalues, symEig, truncateRank } from '../../src/linalg.js';
import { readParamsDir } from '../../src/checkpoint.js';
import { UsageError } from '../../src/errors.js';
import { Rng } from '../../src/rng.js';
import { train } from '../../src/trainer.js';
import { runCli, tempDir, oneLineError } from '../helpers.js';
import { optionDefaults } from '../../src/options.js';

const base: RnnOptions = { ...optionDefaults(rnnOptions), units: 6, tau: 100, activation: 'tanh', gain: 1.2, sparsity: 1, dale: 0, trainX0: false, recNoise: 0, inputNoise: 0 };

describe('rnn model', () => {
  it('follows x ← (1−α)x + α(f(x)J + u W_in + b), z = f(x) W_out + b_out', () => {
    const m = createRnn(base, { inputShape: [5, 2], outputSize: 3, dtMs: 20 });
    const p = m.init(new Rng('rnn-forward'));
    p['rnn/b']!.dispose();
    p['rnn/b'] = tf.tensor1d([0.1, -0.2, 0.3, 0, 0.05, -0.1]);
    const u = Array.from({ length: 2 * 5 * 2 }, (_, i) => Math.sin(i));
    const { output, trace } = m.forward(p, tf.tensor3d(u, [2, 5, 2]));
    const J = p['rnn/J']!.arraySync() as number[][];
    const Win = p['rnn/Win']!.arraySync() as number[][];
    const Wout = p['rnn/Wout']!.arraySync() as number[][];
    const b = p['rnn/b']!.arraySync() as number[];
    const alpha = 0.2;
    const z = output.arraySync() as number[][][];
    const xs = trace[0]!.pre.arraySync() as number[][][];
    for (let n = 0; n < 2; n++) {
      let x = new Array(6).fill(0);
      for (let t = 0; t < 5; t++) {
        const r = x.map(Math.tanh);
        const ut = [u[(n * 5 + t) * 2]!, u[(n * 5 + t) * 2 + 1]!];
        x = x.map((xi, i) => (1 - alpha) * xi + alpha * (r.reduce((s, rj, j) => s + rj * J[j]![i]!, 0) + ut[0]! * Win[0]![i]! + ut[1]! * Win[1]![i]! + b[i]!));
        const r1 = x.map(Math.tanh);
        x.forEach((v, i) => expect(xs[n]![t]![i]).toBeCloseTo(v, 5));
        for (let k = 0; k < 3; k++) expect(z[n]![t]![k]).toBeCloseTo(r1.reduce((s, rj, j) => s + rj * Wout[j]![k]!, 0), 5);
      }
    }
    expect(m.rate!.alpha).toBeCloseTo(alpha, 12);
    tf.dispose([output, ...Object.values(p)]);
  });

  it('step and initState reproduce forward', () => {
    const m = createRnn({ ...optionDefaults(rnnOptions), ...base, trainX0: true }, { inputShape: [4, 1], outputSize: 1, dtMs: 10 });
    const p = m.init(new Rng('rnn-step'));
    p['rnn/x0']!.dispose();
    p['rnn/x0'] = tf.fill([6], 0.3);
    const u = tf.tensor3d([1, 0, -1, 0.5], [1, 4, 1]);
    const { output } = m.forward(p, u);
    let state = m.recurrent.initState(p, 1);
    expect(Array.from(state['x']!.dataSync())).toEqual(new Array(6).fill(0.3).map((v) => Math.fround(v)));
    const zs: number[] = [];
    for (let t = 0; t < 4; t++) {
      const s = m.recurrent.step(p, state, tf.tensor2d([[([1, 0, -1, 0.5] as number[])[t]!]]));
      state = s.state;
      zs.push(s.output.dataSync()[0]!);
    }
    Array.from(output.dataSync()).forEach((v, t) => expect(v).toBeCloseTo(zs[t]!, 6));
  });

  it('a step on prepared parameters (J ⊙ mask computed once) gives the same numbers, and prepare hands back what it made', () => {
    const m = createRnn({ ...optionDefaults(rnnOptions), ...base, units: 8, sparsity: 0.5, dale: 0.5 }, { inputShape: [3, 1], outputSize: 1, dtMs: 10 });
    const p = m.init(new Rng('rnn-prepare'));
    const prepared = m.recurrent.prepare!(p);
    const run = (params: typeof p) => {
      let state = m.recurrent.initState(params, 1);
      const out: number[] = [];
      for (const v of [1, -0.5, 0.25]) {
        const s = m.recurrent.step(params, state, tf.tensor2d([[v]]));
        state = s.state;
        out.push(...s.output.dataSync(), ...s.activity.dataSync());
      }
      return out;
    };
    expect(run(prepared.params)).toEqual(run(p));
    expect(prepared.prepared.length).toBe(1);
    expect(Array.from(prepared.prepared[0]!.dataSync())).toEqual(Array.from(tf.mul(p['rnn/J']!, p['rnn/mask']!).dataSync()));
  });

  it("--dale: signed rows, balanced inputs, no autapses, only excitatory units read out", () => {
    const m = createRnn({ ...optionDefaults(rnnOptions), ...base, units: 20, dale: 0.8 }, { inputShape: [3, 2], outputSize: 2, dtMs: 10 });
    const p = m.init(new Rng('dale'));
    const J = p['rnn/J']!.arraySync() as number[][];
    const Wout = p['rnn/Wout']!.arraySync() as number[][];
    for (let j = 0; j < 20; j++) {
      for (let i = 0; i < 20; i++) expect(Math.sign(J[j]![i]!) * m.rate!.signs[j]!).toBeGreaterThanOrEqual(0);
      expect(Math.abs(J[j]![j]!)).toBe(0);
      for (const w of Wout[j]!) (j < 16 ? expect(w).toBeGreaterThanOrEqual(0) : expect(Math.abs(w)).toBe(0));
    }
    for (let i = 0; i < 20; i++) expect(J.reduce((s, row) => s + row[i]!, 0)).toBeCloseTo(0, 4);
    // Scaled to spectral radius g = 1.2.
    expect(Math.max(...eigenvalues(J).map((e) => Math.hypot(e.re, e.im)))).toBeCloseTo(1.2, 4);
    expect(m.specs['rnn/J']!.constraint!.violations(p['rnn/J']!)).toBe(0);
    expect(m.specs['rnn/J']!.constraint!.violations(tf.neg(p['rnn/J']!))).toBeGreaterThan(0);
  });

  it('--dale-readout all: inhibitory units read out with negative weights, kept by the constraint', () => {
    const m = createRnn({ ...optionDefaults(rnnOptions), ...base, units: 20, dale: 0.8, daleReadout: 'all' }, { inputShape: [3, 2], outputSize: 2, dtMs: 10 });
    const p = m.init(new Rng('dale'));
    const Wout = p['rnn/Wout']!.arraySync() as number[][];
    Wout.forEach((row, j) => row.forEach((w) => expect(j < 16 ? w > 0 : w < 0).toBe(true)));
    const c = m.specs['rnn/Wout']!.constraint!;
    expect(c.violations(p['rnn/Wout']!)).toBe(0);
    expect(c.violations(tf.neg(p['rnn/Wout']!))).toBe(40);
  });

  it('Dale networks keep their signs through training and in saved checkpoints', async () => {
    const out = tempDir();
    await train(
      { task: 'delayed-xor', datasetOptions: { trials: 64, testTrials: 32, dt: 20 }, model: 'rnn', modelOptions: { units: 24, dale: 0.8 }, rule: 'bptt', lr: 0.05, steps: 30, batchSize: 16, logEvery: 0, diagEvery: 0 },
      { out },
    );
    const m = createRnn({ ...optionDefaults(rnnOptions), ...base, units: 24, dale: 0.8 }, { inputShape: [30, 2], outputSize: 1, dtMs: 20 });
    const saved = readParamsDir(join(out, 'checkpoint')).params;
    const init = readParamsDir(join(out, 'init')).params;
    expect(m.specs['rnn/J']!.constraint!.violations(saved['rnn/J']!)).toBe(0);
    expect(m.specs['rnn/Wout']!.constraint!.violations(saved['rnn/Wout']!)).toBe(0);
    // It did train (a large learning rate pushes many weights against their sign bound).
    expect(Array.from(saved['rnn/J']!.dataSync())).not.toEqual(Array.from(init['rnn/J']!.dataSync()));
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).dataset).toMatchObject({ name: 'delayed-xor', kind: 'task' });
  });

  it.each(['bptt', 'modprop', 'eprop', 'rflo'])('--zero-bias: %s trains the other parameters and leaves b at 0, without leaking tensors', async (rule) => {
    const run = (out: string) =>
      train(
        { task: 'delayed-xor', datasetOptions: { trials: 64, testTrials: 32, dt: 20 }, model: 'rnn', modelOptions: { units: 24, dale: 0.8, activation: 'relu', zeroBias: true }, rule, lr: 0.05, steps: 5, batchSize: 16, logEvery: 0, diagEvery: 0 },
        { out },
      );
    expect(createRnn({ ...optionDefaults(rnnOptions), ...base, zeroBias: true }, { inputShape: [3, 2], outputSize: 1, dtMs: 10 }).specs['rnn/b']!.trainable).toBe(false);
    await run(tempDir());
    const before = tf.memory().numTensors;
    const out = tempDir();
    await run(out);
    expect(tf.memory().numTensors).toBe(before);
    const saved = readParamsDir(join(out, 'checkpoint')).params;
    const init = readParamsDir(join(out, 'init')).params;
    expect(Array.from(saved['rnn/b']!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(saved['rnn/Win']!.dataSync())).not.toEqual(Array.from(init['rnn/Win']!.dataSync()));
  });

  it.each(['bptt', 'eprop', 'rflo'])('--no-bias: %s leaves b and b_out at 0 and the rules see no bias roles', async (rule) => {
    const m = createRnn({ ...optionDefaults(rnnOptions), ...base, bias: false }, { inputShape: [3, 2], outputSize: 1, dtMs: 10 });
    expect([m.specs['rnn/b']!.trainable, m.specs['rnn/bout']!.trainable]).toEqual([false, false]);
    expect(m.recurrent.roles.bias).toBeUndefined();
    expect(m.recurrent.roles.readoutBias).toBeUndefined();
    const out = tempDir();
    await train(
      { task: 'perceptual-decision', datasetOptions: { trials: 32, testTrials: 8, dt: 50 }, model: 'rnn', modelOptions: { units: 12, activation: 'relu', bias: false }, rule, lr: 0.05, steps: 4, batchSize: 8, logEvery: 0, diagEvery: 0 },
      { out },
    );
    const saved = readParamsDir(join(out, 'checkpoint')).params;
    const init = readParamsDir(join(out, 'init')).params;
    for (const b of ['rnn/b', 'rnn/bout']) expect(Array.from(saved[b]!.dataSync()).every((v) => v === 0), b).toBe(true);
    expect(Array.from(saved['rnn/Wout']!.dataSync())).not.toEqual(Array.from(init['rnn/Wout']!.dataSync()));
  });

  it('--no-bias on the command line sets the model option bias to false', () => {
    const out = tempDir();
    const cli = runCli(['train', '--task', 'perceptual-decision', '--trials', '16', '--test-trials', '4', '--model', 'rnn', '--units', '6', '--no-bias', '--steps', '1', '--batch-size', '8', '--quiet', '--out', out]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model.options.bias).toBe(false);
  });

  it('refuses --dt larger than --tau, and image data', () => {
    expect(() => createRnn({ ...optionDefaults(rnnOptions), ...base, tau: 10 }, { inputShape: [5, 2], outputSize: 1, dtMs: 20 })).toThrow(/--dt 20 ms is larger than --tau 10 ms/);
    expect(() => createRnn(base, { inputShape: [28, 28, 1], outputSize: 10 })).toThrow(UsageError);
  });

  it.each([
    [['--task', 'delayed-xor', '--model', 'rnn', '--dale', '1.5'], /--dale must be a fraction of excitatory units in \[0, 1\)/],
    [['--task', 'no-such-task', '--model', 'rnn'], /unknown task "no-such-task"; known tasks: pattern, ready-set-go, perceptual-decision, context-decision, delayed-comparison, match-to-sample, delayed-xor, seq-mnist/],
    [['--task', 'delayed-xor', '--model', 'rnn', '--tau', '5'], /--dt 10 ms is larger than --tau 5 ms/],
    [['--task', 'delayed-xor', '--dataset', 'mnist'], /give --dataset or --task, not both/],
    [['--task', 'delayed-xor', '--model', 'rnn', '--rule', 'modprop'], /rule modprop needs cell types: give the network an E\/I split \(--dale 0\.8\)/],
  ])('CLI %j: one clear line', (args, pattern) => {
    oneLineError(runCli(['train', ...args, '--steps', '1', '--quiet']), pattern);
  });
});

/** The singular values of a row-major matrix, largest first, from the eigenvalues of MᵀM in double precision. */
function singular(m: ArrayLike<number>, rows: number, cols: number): number[] {
  const g = Array.from({ length: cols }, (_, a) => Array.from({ length: cols }, (_, b) => {
    let s = 0;
    for (let i = 0; i < rows; i++) s += m[i * cols + a]! * m[i * cols + b]!;
    return s;
  }));
  return symEig(g).values.map((l) => Math.sqrt(Math.max(l, 0)));
}
const frobenius = (m: ArrayLike<number>) => Math.sqrt(Array.from(m).reduce((s, v) => s + v * v, 0));

describe('low-rank initialisation (--init-rank)', () => {
  it('truncateRank keeps the r largest singular directions, scaled to the whole matrix\'s norm', () => {
    // M = diag(4, 3, 2, 1) in a 4 × 5 matrix, rotated by a permutation and a sign: M_2 = diag(4, 3, 0, 0) · √30 / 5.
    const m = new Float32Array(20);
    [[0, 2, 4], [1, 0, -3], [2, 4, 2], [3, 1, 1]].forEach(([i, j, v]) => (m[i! * 5 + j!] = v!));
    const r2 = truncateRank(m, 4, 5, 2);
    const scale = Math.sqrt(30) / 5;
    const expected = new Float32Array(20);
    expected[2] = 4 * scale;
    expected[5] = -3 * scale;
    Array.from(r2).forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 5));
    expect(truncateRank(m, 4, 5, 4)).toBe(m);
  });

  it("starts J at rank r with the full draw's Frobenius norm, for r = 1, 3 and the full N", () => {
    const data = { inputShape: [5, 2], outputSize: 2, dtMs: 100 };
    const full = createRnn({ ...base, units: 12, tau: 100 }, data).init(new Rng('rank'));
    const fullJ = full['rnn/J']!.dataSync();
    for (const r of [1, 3]) {
      const p = createRnn({ ...base, units: 12, tau: 100, initRank: r }, data).init(new Rng('rank'));
      const J = p['rnn/J']!.dataSync();
      const s = singular(J, 12, 12);
      expect(s[r - 1]!).toBeGreaterThan(1e-2);
      for (const small of s.slice(r)) expect(small / s[0]!).toBeLessThan(1e-5);
      expect(frobenius(J)).toBeCloseTo(frobenius(fullJ), 4);
      // The other parameters are drawn as without the option.
      expect(Array.from(p['rnn/Win']!.dataSync())).toEqual(Array.from(full['rnn/Win']!.dataSync()));
    }
    const same = createRnn({ ...base, units: 12, tau: 100, initRank: 12 }, data).init(new Rng('rank'));
    expect(Array.from(same['rnn/J']!.dataSync())).toEqual(Array.from(fullJ));
  });

  it("refuses Dale's law and sparse connectivity, which the truncation would break", () => {
    const data = { inputShape: [5, 2], outputSize: 2, dtMs: 100 };
    expect(() => createRnn({ ...base, initRank: 2, dale: 0.8 }, data)).toThrow(/--init-rank truncates a dense recurrent matrix; it does not combine with --dale/);
    expect(() => createRnn({ ...base, initRank: 2, sparsity: 0.5 }, data)).toThrow(/does not combine with --sparsity below 1/);
  });
});

describe('rnn noise', () => {
  it('recurrent noise √(2α)σξ gives a leaky unit the stationary variance σ²/(1 − α/2)', () => {
    const sigma = 0.5;
    const m = createRnn({ ...optionDefaults(rnnOptions), ...base, units: 200, activation: 'linear', gain: 0, recNoise: sigma }, { inputShape: [120, 1], outputSize: 1, dtMs: 20 });
    const p = m.init(new Rng('noise-var'));
    const u = tf.zeros([50, 120, 1]);
    const { trace } = m.forward(p, u, { training: true, rng: new Rng('xi') });
    const last = tf.slice(trace[0]!.pre, [0, 119, 0], [50, 1, 200]);
    const v = tf.moments(last).variance.dataSync()[0]!;
    const want = (sigma * sigma) / (1 - m.rate!.alpha / 2);
    expect(Math.abs(v - want) / want).toBeLessThan(0.05);
    tf.dispose([u, last, trace[0]!.pre, ...Object.values(p)]);
  });

  it('is drawn from the given stream during training only: same stream, same trial; evaluation is noise-free', () => {
    const m = createRnn({ ...optionDefaults(rnnOptions), ...base, recNoise: 0.1, inputNoise: 0.3 }, { inputShape: [6, 2], outputSize: 1, dtMs: 20 });
    const p = m.init(new Rng('noise-seeded'));
    const u = tf.tensor3d(Array.from({ length: 3 * 6 * 2 }, (_, i) => Math.cos(i)), [3, 6, 2]);
    const run = (opts: Parameters<typeof m.forward>[2]) => Array.from(m.forward(p, u, opts).output.dataSync());
    const clean = run({});
    expect(run({ training: true, rng: new Rng('a') })).toEqual(run({ training: true, rng: new Rng('a') }));
    expect(run({ training: true, rng: new Rng('a') })).not.toEqual(run({ training: true, rng: new Rng('b') }));
    expect(run({ training: true, rng: new Rng('a') })).not.toEqual(clean);
    expect(run({ training: false, rng: new Rng('a') })).toEqual(clean);
    // A training pass may take the native whole-trial kernels (src/kernels/rate-rnn.ts): equal up to float32 rounding.
    const near = (a: number[], b: number[]) => a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-6));
    near(run({ training: true }), clean);
    // Input noise alone: it enters through W_in (zero W_in, no effect).
    const only = createRnn({ ...optionDefaults(rnnOptions), ...base, inputNoise: 0.3 }, { inputShape: [6, 2], outputSize: 1, dtMs: 20 });
    const q = only.init(new Rng('noise-seeded'));
    q['rnn/Win']!.dispose();
    q['rnn/Win'] = tf.zeros([2, 6]);
    near(Array.from(only.forward(q, u, { training: true, rng: new Rng('a') }).output.dataSync()), Array.from(only.forward(q, u).output.dataSync()));
  });
});
