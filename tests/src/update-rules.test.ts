/**
 * The update-rule contract, pinned by a reference: a rule that trains the
 * readout of a fixed random reservoir by recursive least squares (the step of
 * FORCE and full-FORCE) must end one pass over the data at the closed-form ridge
 * solution W = (RᵀR + αI)⁻¹ (RᵀY + αW₀), the minimiser of ‖RW − Y‖² + α‖W − W₀‖²
 * from the initial readout W₀, computed by hand in float64. Along the way it
 * exercises what update rules get from the core: no optimizer (config.json
 * records none, optimizer flags are refused), updates of a subset of the
 * parameters (the reservoir stays bit for bit), the per-step scan (one trial is
 * many steps, memory stays bounded), and step metrics in metrics.jsonl.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { recurrentOf } from '../../src/capabilities.js';
import { readParamsDir } from '../../src/checkpoint.js';
import { runCli } from '../../src/cli/main.js';
import { defineRule } from '../../src/entries.js';
import { UsageError } from '../../src/errors.js';
import { option, parse } from '../../src/options.js';
import { rules } from '../../src/registries.js';
import { buildRun, readConfig } from '../../src/run.js';
import { scan } from '../../src/scan.js';
import { train } from '../../src/trainer.js';
import type { State } from '../../src/types.js';
import { tempDir } from '../helpers.js';

/**
 * RLS on the readout, one sample per masked time step (batch size 1):
 *   e₋ = r W + b − y (a-priori error), k = P rᵀ, c = 1/(1 + r k),
 *   P ← P − c k kᵀ, W ← W − c k e₋,     P(0) = I/α.
 */
const rls = defineRule({
  name: 'rls-readout',
  description: 'test rule: recursive least squares on the readout of a recurrent network',
  output: 'update',
  requires: ['recurrent'],
  options: [option('alpha', '--alpha <α>', 'P(0) = I/α', 1, parse.positiveNumber)],
  create: (o) => ({
    init: (model, params) => {
      const n = params[recurrentOf(model).roles.readout]!.shape[0]!;
      return { tensors: { P: tf.div(tf.eye(n), o.alpha) } };
    },
    step(ctx) {
      const rec = recurrentOf(ctx.model);
      const { readout, readoutBias } = rec.roles;
      const W0 = ctx.params[readout]!;
      const bias = ctx.params[readoutBias!]!;
      const inputs = tf.unstack(ctx.batch.x, 1) as tf.Tensor2D[];
      const targets = tf.unstack(ctx.batch.y, 1) as tf.Tensor2D[];
      const mask = Array.from(ctx.batch.mask!.dataSync());
      // The scan owns its carry: the rule state and the weights go in as copies.
      const start: { state: State; P: tf.Tensor; W: tf.Tensor; sq: tf.Tensor } = { state: rec.initState(ctx.params, 1), P: tf.clone(ctx.state.tensors['P']!), W: tf.clone(W0), sq: tf.scalar(0) };
      const end = scan(start, inputs.length, (c, t) => {
        const s = rec.step(ctx.params, c.state, inputs[t]!);
        if (mask[t] === 0) return { ...c, state: s.state };
        const r = s.activity;
        const e = tf.sub(tf.add(tf.matMul(r, c.W as tf.Tensor2D), bias), targets[t]!);
        const k = tf.matMul(c.P as tf.Tensor2D, r, false, true);
        const gain = tf.div(1, tf.add(1, tf.matMul(r, k)));
        return {
          state: s.state,
          P: tf.sub(c.P, tf.mul(gain, tf.matMul(k, k, false, true))),
          W: tf.sub(c.W, tf.mul(gain, tf.matMul(k, e))),
          sq: tf.add(c.sq, tf.sum(tf.square(e))),
        };
      });
      const { output } = ctx.model.forward(ctx.params, ctx.batch.x);
      const masked = mask.reduce((a, v) => a + v, 0);
      return {
        updates: { [readout]: tf.sub(end.W, W0) },
        loss: ctx.loss.value(output, ctx.batch),
        output,
        state: { tensors: { P: end.P } },
        metrics: { priorError: tf.div(end.sq, Math.max(masked, 1)) as tf.Scalar },
      };
    },
  }),
});

beforeAll(() => {
  if (!rules.has(rls.name)) rules.register(rls);
});

const N = 16;
const spec = {
  task: 'pattern',
  datasetOptions: { trials: 6, testTrials: 2, dt: 20, durationMs: 600, periodMs: 300 },
  model: 'rnn',
  modelOptions: { units: N, gain: 1.2, activation: 'tanh' },
  rule: 'rls-readout',
  ruleOptions: { alpha: 0.5 },
  batchSize: 1,
  epochs: 1,
  logEvery: 2,
  diagEvery: 3,
  seed: 4,
};

/** Solves A x = b for symmetric positive definite A (Cholesky), in double precision. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const L = A.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = i === j ? Math.sqrt(s) : s / L[j]![j]!;
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) y[i] = (b[i]! - L[i]!.slice(0, i).reduce((s, v, k) => s + v * y[k]!, 0)) / L[i]![i]!;
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k]![i]! * x[k]!;
    x[i] = s / L[i]![i]!;
  }
  return x;
}

describe('an update rule: recursive least squares on a fixed reservoir', () => {
  it('ends one pass at the closed-form ridge solution, touching nothing else, with no optimizer', async () => {
    const dir = tempDir();
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    await train(spec, { out: dir, reporter: { progress: () => counts.push(tf.memory().numTensors) } });
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(counts).size).toBe(1);
    const config = readConfig(dir);
    expect(config.optimizer).toBeNull();
    const init = readParamsDir(join(dir, 'init')).params;
    const end = readParamsDir(join(dir, 'checkpoint')).params;
    // Only the readout moved.
    for (const name of Object.keys(init)) {
      const same = Array.from(init[name]!.dataSync()).every((v, i) => v === end[name]!.dataSync()[i]);
      expect(same, name).toBe(name !== 'rnn/Wout');
    }

    // The ridge solution from the reservoir's rates over every masked step of the training trials, in float64.
    const { dataset, model } = await buildRun(config);
    const batch = dataset.batch('train', [0, 1, 2, 3, 4, 5]);
    const rates = tf.tidy(() => model.forward(init, batch.x).trace[0]!.post.arraySync() as number[][][]);
    const ys = batch.y.arraySync() as number[][][];
    const mask = batch.mask!.arraySync() as number[][];
    const bias = init['rnn/bout']!.dataSync()[0]!;
    const alpha = spec.ruleOptions.alpha;
    const A = Array.from({ length: N }, (_, i) => Array.from({ length: N }, (_, j) => (i === j ? alpha : 0)));
    const b = Array.from(init['rnn/Wout']!.dataSync(), (w) => alpha * w);
    rates.forEach((trial, n) =>
      trial.forEach((r, t) => {
        if (!mask[n]![t]) return;
        for (let i = 0; i < N; i++) {
          b[i]! += r[i]! * (ys[n]![t]![0]! - bias);
          for (let j = 0; j < N; j++) A[i]![j]! += r[i]! * r[j]!;
        }
      }),
    );
    const ridge = solve(A, b);
    const got = Array.from(end['rnn/Wout']!.dataSync());
    const scale = Math.max(...ridge.map(Math.abs));
    expect(scale).toBeGreaterThan(0.1);
    got.forEach((w, i) => expect(Math.abs(w - ridge[i]!) / scale, `W_out[${i}]`).toBeLessThan(1e-5));
    tf.dispose([batch.x, batch.y, batch.mask!, ...Object.values(init), ...Object.values(end)]);

    // Its own metric is recorded; the alignment diagnostic compares the update with −∇L.
    const recs = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const trainRecs = recs.filter((r) => r.type === 'train');
    expect(trainRecs.length).toBe(3);
    for (const r of trainRecs) expect(r.metrics.priorError).toBeGreaterThan(0);
    const diag = recs.find((r) => r.type === 'diag');
    expect(Object.keys(diag.layers)).toEqual(['rnn/Wout']);
    expect(diag.layers['rnn/Wout'].updateAngle).toBeLessThan(90);
  });

  it('refuses optimizer settings, through the API and the CLI (one line, exit 2)', async () => {
    await expect(train({ ...spec, optimizer: 'adam' }, { out: tempDir() })).rejects.toThrow(UsageError);
    await expect(train({ ...spec, lr: 0.1 }, { out: tempDir() })).rejects.toThrow('--lr does not apply to rule rls-readout: it applies its own updates, with no optimizer');
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      const code = await runCli(['train', '--task', 'pattern', '--model', 'rnn', '--rule', 'rls-readout', '--optimizer', 'adam', '--steps', '1', '--quiet']);
      expect(code).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(err.join('').trim().split('\n')).toEqual(['biocredit: error: --optimizer does not apply to rule rls-readout: it applies its own updates, with no optimizer']);
  });
});

describe('the per-step scan', () => {
  it('runs 20,000 steps with the tensor count of one carry, and the right numbers', () => {
    const before = tf.memory().numTensors;
    const seen = new Set<number>();
    const x0 = tf.tensor1d([1, 0]);
    // x ← R x with R a rotation by θ: after n steps, a rotation by nθ.
    const theta = 0.001;
    const R = tf.tensor2d([
      [Math.cos(theta), Math.sin(theta)],
      [-Math.sin(theta), Math.cos(theta)],
    ]);
    const end = scan<{ x: tf.Tensor; steps: tf.Tensor }>({ x: x0, steps: tf.scalar(0) }, 20_000, (c, t) => {
      if (t % 1000 === 0) seen.add(tf.memory().numTensors);
      return { x: tf.squeeze(tf.matMul(tf.expandDims(c.x, 0), R)), steps: tf.add(c.steps, 1) };
    });
    expect(seen.size).toBe(1);
    const [a, b] = Array.from(end.x.dataSync());
    expect(a).toBeCloseTo(Math.cos(20), 3);
    expect(b).toBeCloseTo(Math.sin(20), 3);
    expect(end.steps.dataSync()[0]).toBe(20_000);
    // The initial carry belongs to the scan and was freed; only the last carry and R remain.
    expect(x0.isDisposed).toBe(true);
    tf.dispose([end.x, end.steps, R]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
