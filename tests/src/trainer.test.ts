import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readParamsDir } from '../../src/checkpoint.js';
import { nonnegative } from '../../src/constraints.js';
import { RunDirError, TrainingError, UsageError } from '../../src/errors.js';
import { autodiffStep } from '../../src/grad.js';
import { datasets, models, rules } from '../../src/registries.js';
import { resume, train, type RunSummary } from '../../src/trainer.js';
import type { Params } from '../../src/types.js';
import { teacherDataset, tempDir, timeless } from '../helpers.js';

const DATA = 'trainer-teacher';

beforeAll(() => {
  if (datasets.has(DATA)) return;
  datasets.register({ name: DATA, description: 'test data', load: async () => teacherDataset('trainer', 300) });
  // A rule whose loss becomes NaN at its sixth step, to exercise the failure path.
  rules.register({
    name: 'nan-at-6',
    description: 'test rule',
    output: 'gradient',
    create: () => ({
      init: () => ({ tensors: {} }),
      step: (ctx) => {
        const r = autodiffStep(ctx);
        return ctx.step === 5 ? { ...r, loss: tf.scalar(NaN) } : r;
      },
    }),
  });
  // A rule whose update is 1 for every parameter, to read the step size off the weights.
  rules.register({
    name: 'ones',
    description: 'test rule',
    output: 'gradient',
    create: () => ({
      init: () => ({ tensors: {} }),
      step: (ctx) => {
        const r = autodiffStep(ctx);
        return { ...r, updates: Object.fromEntries(Object.entries(r.updates).map(([k, g]) => [k, tf.onesLike(g)])) };
      },
    }),
  });
  // A linear model whose weights must stay nonnegative, to exercise the projection step.
  models.register({
    name: 'nonneg-linear',
    description: 'test model',
    create: (_o, data) => {
      const d = data.inputShape.reduce((a, b) => a * b, 1);
      return {
        name: 'nonneg-linear',
        specs: { W: { shape: [d, data.outputSize], role: 'weight', constraint: nonnegative() }, b: { shape: [data.outputSize], role: 'bias' } },
        init: (rng) => ({ W: tf.tensor(rng.normals(d * data.outputSize, 0.1), [d, data.outputSize]), b: tf.zeros([data.outputSize]) }),
        forward: (p: Params, x: tf.Tensor) => {
          const out = tf.add(tf.matMul(x, p['W']!), p['b']!);
          return { output: out, trace: [] };
        },
      };
    },
  });
});

const base = {
  dataset: DATA,
  model: 'mlp',
  modelOptions: { hidden: [16] },
  batchSize: 32,
  steps: 60,
  evalEvery: 20,
  logEvery: 5,
  seed: 3,
};

const records = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const weights = (dir: string) => {
  const { params } = readParamsDir(join(dir, 'checkpoint'));
  return Object.fromEntries(Object.entries(params).map(([k, t]) => [k, Array.from(t.dataSync())]));
};

const stripTime = (s: RunSummary) => {
  const { wallSec: _a, secPerEpoch: _b, examplesPerSec: _c, runDir: _d, ...rest } = s;
  return rest;
};

describe('trainer', () => {
  it('writes the run directory of DESIGN.md', async () => {
    const dir = tempDir();
    const s = await train(base, { out: dir });
    for (const f of ['config.json', 'metrics.jsonl', 'summary.json', 'init/model.json', 'init/weights.bin', 'checkpoint/model.json', 'checkpoint/weights.bin', 'checkpoint/state.json']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ seed: 3, backend: tf.getBackend(), model: { name: 'mlp', options: { hidden: [16] } }, rule: { name: 'bp' } });
    expect(s.status).toBe('finished');
    expect(s.steps).toBe(60);
    // Evaluations before training, every 20 steps, and at the end of every epoch of 300 / 32 → 10 steps.
    expect(records(dir).filter((r) => r['type'] === 'eval').map((r) => r['step'])).toEqual([0, 10, 20, 30, 40, 50, 60]);
    // The step-0 parameters are kept and differ from the final ones.
    const init = readParamsDir(join(dir, 'init')).params;
    const end = readParamsDir(join(dir, 'checkpoint')).params;
    expect(Array.from(init['l0/W']!.dataSync())).not.toEqual(Array.from(end['l0/W']!.dataSync()));
    // The model.json is a TensorFlow.js weights manifest.
    const manifest = JSON.parse(readFileSync(join(dir, 'checkpoint', 'model.json'), 'utf8'));
    expect(manifest.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(manifest.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual(['l0/W', 'l0/b', 'l1/W', 'l1/b']);
  });

  it('gives different numbers for a different seed', async () => {
    const a = await train(base, { out: tempDir() });
    const b = await train({ ...base, seed: 4 }, { out: tempDir() });
    expect(a.final.test.loss).not.toBe(b.final.test.loss);
  });

  it.each(['sgd', 'momentum', 'adam', 'rmsprop'] as const)('resumes an interrupted run exactly (%s)', async (optimizer) => {
    const spec = { ...base, optimizer, weightDecay: 1e-3, clipNorm: 5 };
    const full = tempDir();
    const whole = await train(spec, { out: full });
    const cut = tempDir();
    const controller = new AbortController();
    const first = await train(spec, {
      out: cut,
      signal: controller.signal,
      reporter: { progress: (p) => p.step === 23 && controller.abort() },
    });
    expect(first.status).toBe('interrupted');
    expect(first.steps).toBe(23);
    const second = await resume(cut);
    expect(second.status).toBe('finished');
    expect(stripTime(second)).toEqual(stripTime(whole));
    expect(timeless(records(cut))).toEqual(timeless(records(full)));
    expect(weights(cut)).toEqual(weights(full));
  });

  it('can extend a finished run with more epochs', async () => {
    const dir = tempDir();
    await train({ ...base, steps: undefined, epochs: 1 }, { out: dir });
    const more = await resume(dir, { epochs: 2 });
    const straight = await train({ ...base, steps: undefined, epochs: 2 }, { out: tempDir() });
    expect(more.steps).toBe(20);
    expect(more.final.test).toEqual(straight.final.test);
  });

  it('stops on a non-finite loss, naming the step, and keeps the last good checkpoint', async () => {
    const dir = tempDir();
    const run = train({ ...base, rule: 'nan-at-6', checkpointEvery: 4 }, { out: dir });
    await expect(run).rejects.toThrow(TrainingError);
    await expect(train({ ...base, rule: 'nan-at-6', checkpointEvery: 4 }, { out: tempDir() })).rejects.toThrow(
      /non-finite loss \(NaN\) at step 6 \(epoch 1\); the last good checkpoint \(step 4\)/,
    );
    const state = JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8'));
    expect(state.step).toBe(4);
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).status).toBe('failed');
  });

  it('projects constrained parameters after every update', async () => {
    const dir = tempDir();
    await train({ ...base, model: 'nonneg-linear', modelOptions: {}, lr: 0.05 }, { out: dir });
    const init = readParamsDir(join(dir, 'init')).params['W']!;
    const end = readParamsDir(join(dir, 'checkpoint')).params['W']!;
    expect(tf.min(init).dataSync()[0]).toBeGreaterThanOrEqual(0);
    expect(tf.min(end).dataSync()[0]).toBeGreaterThanOrEqual(0);
    // Exact zeros come only from the projection: unconstrained steps would have made them negative.
    expect(tf.sum(tf.cast(tf.equal(end, 0), 'int32')).dataSync()[0]).toBeGreaterThan(0);
  });

  it('logs alignment diagnostics; backprop is at angle 0 with itself', async () => {
    const dir = tempDir();
    const s = await train({ ...base, steps: 45, diagEvery: 20 }, { out: dir });
    const diags = records(dir).filter((r) => r['type'] === 'diag') as unknown as { step: number; layers: Record<string, { updateAngle: number }> }[];
    expect(diags.map((d) => d.step)).toEqual([20, 40, 45]);
    for (const d of diags) {
      expect(Object.keys(d.layers)).toEqual(['l0', 'l1']);
      for (const layer of Object.values(d.layers)) expect(layer.updateAngle).toBe(0);
    }
    expect(s.alignment).toEqual({ step: 45, layers: diags.at(-1)!.layers });
    const fa = await train({ ...base, rule: 'fa', steps: 20, diagEvery: 20 }, { out: tempDir() });
    expect(fa.alignment!.layers['l0']!.updateAngle).toBeGreaterThan(1);
    expect(fa.alignment!.layers['l1']!.updateAngle).toBeLessThan(1e-3);
    expect(fa.alignment!.layers['l1']!.feedbackAngle).toBeGreaterThan(45);
  });

  it('logs a gradient rule’s gradient norm as its update norm: one plain SGD step moves θ by lr times it', async () => {
    const dir = tempDir();
    await train({ ...base, optimizer: 'sgd', lr: 0.1, steps: 1, logEvery: 1 }, { out: dir });
    const [logged] = records(dir).filter((r) => r['type'] === 'train') as unknown as { updateNorm: number }[];
    const init = readParamsDir(join(dir, 'init')).params;
    const end = readParamsDir(join(dir, 'checkpoint')).params;
    const moved = Math.sqrt(Object.keys(init).reduce((a, k) => a + tf.sum(tf.square(tf.sub(end[k]!, init[k]!))).dataSync()[0]!, 0));
    expect(logged!.updateNorm).toBeGreaterThan(0);
    expect(Math.abs(moved - 0.1 * logged!.updateNorm)).toBeLessThan(1e-4 * moved);
  });

  it('keeps layer norms fixed under --weight-norm through training', async () => {
    const dir = tempDir();
    await train({ ...base, rule: 'usf', ruleOptions: { weightNorm: true }, lr: 0.01 }, { out: dir });
    const init = readParamsDir(join(dir, 'init')).params;
    const end = readParamsDir(join(dir, 'checkpoint')).params;
    for (const w of ['l0/W', 'l1/W']) {
      expect(tf.norm(end[w]!).dataSync()[0]).toBeCloseTo(tf.norm(init[w]!).dataSync()[0]!, 3);
      expect(Array.from(end[w]!.dataSync())).not.toEqual(Array.from(init[w]!.dataSync()));
    }
  });

  it('refuses to overwrite a run and to resume something that is not one', async () => {
    const dir = tempDir();
    await train({ ...base, steps: 5 }, { out: dir });
    await expect(train({ ...base, steps: 5 }, { out: dir })).rejects.toThrow(UsageError);
    await expect(train({ ...base, steps: 5 }, { out: dir })).rejects.toThrow(/already holds a run; continue it with --resume/);
    const notRun = tempDir();
    mkdirSync(join(notRun, 'x'));
    writeFileSync(join(notRun, 'x', 'file.txt'), 'hi');
    await expect(resume(notRun)).rejects.toThrow(RunDirError);
    await expect(resume(notRun)).rejects.toThrow(/not a biocredit run directory \(no config.json\)/);
    await expect(resume(join(notRun, 'missing'))).rejects.toThrow(/directory not found/);
  });

  it.each(['sgd', 'adam'] as const)('%s follows --lr-decay / --lr-decay-every, also across a resume', async (optimizer) => {
    // Constant unit updates move every weight by the rate in effect (Adam: m̂/√v̂ = 1):
    // 0.1 · (1 + 1 + 0.5 + 0.5 + 0.25) after five steps.
    const spec = { ...base, rule: 'ones', optimizer, lr: 0.1, lrDecay: 0.5, lrDecayEvery: 2, evalEvery: 3, checkpointEvery: 3, logEvery: 0, diagEvery: 0 };
    const dir = tempDir();
    await train({ ...spec, steps: 3 }, { out: dir });
    await resume(dir, { steps: 5 });
    const init = readParamsDir(join(dir, 'init')).params;
    const end = weights(dir);
    for (const [k, v] of Object.entries(end)) {
      const w0 = init[k]!.dataSync();
      v.forEach((w, i) => expect(w0[i]! - w).toBeCloseTo(0.325, 4));
    }
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).optimizer.decay).toEqual({ factor: 0.5, every: 2 });
  });

  it('refuses --lr-decay without --lr-decay-every', async () => {
    await expect(train({ ...base, lrDecay: 0.8 }, { out: tempDir() })).rejects.toThrow(/give --lr-decay and --lr-decay-every together/);
  });
});
