/**
 * The ROBER benchmark: the Rosenbrock reference solver against the standard
 * values of the Robertson problem at t = 40 (Hairer & Wanner's test set) and
 * against the exact solution of a stiff linear problem; mass conservation;
 * the dataset's scaling; the MAE loss against autodiff; the neural ODE trained
 * a few steps by bp and es; one-line refusals.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { roberSolution } from '../../datasets/rober.js';
import { resolveConfig } from '../../src/config.js';
import { lossFor } from '../../src/losses.js';
import { solveStiff } from '../../src/ode.js';
import { resolveOptions } from '../../src/options.js';
import { datasets } from '../../src/registries.js';
import { train } from '../../src/trainer.js';
import { oneLineError, runCli, tempDir } from '../helpers.js';

describe('stiff reference solver', () => {
  it('gives the Robertson problem’s standard values at t = 40 and conserves y1 + y2 + y3', () => {
    const [y] = roberSolution([40]);
    const reference = [0.7158270687, 9.185534764e-6, 0.2841637457];
    reference.forEach((v, k) => expect(Math.abs(y![k]! - v) / v).toBeLessThan(1e-8));
    const times = Array.from({ length: 50 }, (_, i) => 1e-5 * 1e10 ** (i / 49));
    for (const s of roberSolution(times)) expect(Math.abs(s[0]! + s[1]! + s[2]! - 1)).toBeLessThan(1e-9);
  });

  it('follows the exact solution of a stiff linear problem, y′ = −1000(y − cos t) − sin t, y = cos t', () => {
    const sys = { dim: 1, f: ([y]: Float64Array, t = 0) => Float64Array.of(-1000 * (y! - Math.cos(t)) - Math.sin(t)), jacobian: () => [Float64Array.of(-1000)] };
    // Autonomous form: carry t as a second component.
    const auto = {
      dim: 2,
      f: ([y, t]: Float64Array) => Float64Array.of(sys.f(Float64Array.of(y!), t!)[0]!, 1),
      jacobian: ([, t]: Float64Array) => [Float64Array.of(-1000, 1000 * -Math.sin(t!) - Math.cos(t!)), Float64Array.of(0, 0)],
    };
    const out = solveStiff(auto, Float64Array.of(1, 0), 0, [0.5, 1, 2], { rtol: 1e-8, atol: 1e-10, h0: 1e-6 });
    [0.5, 1, 2].forEach((t, i) => expect(Math.abs(out[i]![0]! - Math.cos(t))).toBeLessThan(1e-7));
  });
});

describe('rober dataset and the MAE loss', () => {
  it('scales each species to a maximum of 1 and gives τ = t/t_end with the scaled initial state', async () => {
    const entry = datasets.get('rober');
    const ds = await entry.load(resolveOptions('dataset rober', entry.options ?? [], {}));
    expect(ds.loss).toBe('mae');
    const b = ds.batch('train', [0]);
    const y = b.y.arraySync() as number[][][];
    const x = b.x.arraySync() as number[][][];
    for (let k = 0; k < 3; k++) expect(Math.max(...y[0]!.map((r) => r[k]!))).toBeCloseTo(1, 6);
    expect(x[0]![0]![0]).toBeCloseTo(1e-10, 15);
    expect(x[0]![49]![0]).toBeCloseTo(1, 6);
    // y1's maximum over the observations is y1(1e-5), just below y1(0) = 1.
    x[0]![7]!.slice(1).forEach((v, k) => expect(v).toBeCloseTo([1, 0, 0][k]!, 5));
    tf.dispose([b.x, b.y]);
  });

  it('has the gradient autodiff gives, with and without a mask', () => {
    const loss = lossFor('mae');
    const output = tf.randomNormal([4, 5, 3], 0, 1, 'float32', 1);
    const batch = { x: tf.zeros([4, 5, 1]), y: tf.randomNormal([4, 5, 3], 0, 1, 'float32', 2), size: 4 };
    for (const mask of [undefined, tf.tensor2d([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]])]) {
      const b = { ...batch, ...(mask ? { mask } : {}) };
      const auto = tf.grad((o: tf.Tensor) => loss.value(o, b))(output);
      expect(tf.max(tf.abs(tf.sub(auto, loss.outputGrad(output, b)))).dataSync()[0]).toBeLessThan(1e-7);
    }
  });
});

describe('neural ODE on rober', () => {
  const base = { dataset: 'rober', datasetOptions: { observations: 6 }, model: 'neural-ode', modelOptions: { substeps: 2 }, batchSize: 1, steps: 3, logEvery: 1, diagEvery: 0, seed: 1 };
  it.each([
    ['bp', { optimizer: 'adam' as const, lr: 0.01 }],
    ['es', { ruleOptions: { population: 8, sigma: 0.05 } }],
  ])('%s trains it to a finite loss and MAE', async (rule, extra) => {
    const dir = tempDir();
    const summary = await train({ ...base, rule, ...extra }, { out: dir });
    expect(summary.status).toBe('finished');
    const final = summary.final!.test;
    expect(Number.isFinite(final.loss)).toBe(true);
    expect(Number.isFinite(final.mae!)).toBe(true);
  });

  it('evaluates and checkpoints on the interval, not at every step (each step ends an epoch of one example)', async () => {
    const dir = tempDir();
    await train({ ...base, rule: 'bp', optimizer: 'adam', lr: 0.01, steps: 4, evalEvery: 2 }, { out: dir });
    const evals = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number }).filter((r) => r.type === 'eval');
    expect(evals.map((r) => r.step)).toEqual([0, 2, 4]);
  });

  it('without scaling trains on raw concentrations and still reports the MAE on scaled species', async () => {
    const entry = datasets.get('rober');
    const [scaled, raw] = await Promise.all(['max', 'none'].map((scaling) => entry.load(resolveOptions('dataset rober', entry.options ?? [], { observations: 6, scaling }))));
    const [bs, br] = [scaled!.batch('test', [0]), raw!.batch('test', [0])];
    const ys = bs.y.dataSync() as Float32Array;
    const yr = br.y.dataSync() as Float32Array;
    // y2 peaks near 3.6e-5 raw and at 1 scaled; y1 starts at 1 either way.
    expect(Math.max(...Array.from({ length: 6 }, (_, i) => yr[i * 3 + 1]!))).toBeLessThan(1e-4);
    expect(Math.max(...Array.from({ length: 6 }, (_, i) => ys[i * 3 + 1]!))).toBeCloseTo(1, 6);
    // Output 0 everywhere: the scaled MAE is the mean scaled target in both trainings.
    const meanScaled = ys.reduce((a, v) => a + v, 0) / ys.length;
    for (const ds of [scaled!, raw!]) expect(ds.trialMetrics!('test', 0, new Float32Array(18))['scaledMae']).toBeCloseTo(meanScaled, 5);
    // A perfect raw output scores 0.
    expect(raw!.trialMetrics!('test', 0, yr)['scaledMae']).toBe(0);
    tf.dispose([bs.x, bs.y, br.x, br.y]);
  });

  it('trains at batch size 1 unless told otherwise, whatever the rule’s default', () => {
    for (const rule of ['bp', 'es']) expect(resolveConfig({ dataset: 'rober', model: 'neural-ode', rule }, 'wasm').training.batchSize).toBe(1);
    expect(resolveConfig({ dataset: 'mnist-mini', model: 'mlp', rule: 'es' }, 'wasm').training.batchSize).toBe(256);
  });

  it('is refused on data without observation times, in one line', () => {
    const r = runCli(['train', '--dataset', 'mnist-mini', '--model', 'neural-ode', '--steps', '1']);
    expect(r.code).toBe(2);
    oneLineError(r, /^biocredit: error: model neural-ode needs inputs \[observations, 1 \+ state\] \(the rober dataset\); this dataset has examples of shape \[28, 28, 1\] and 10 outputs$/);
  });
});
