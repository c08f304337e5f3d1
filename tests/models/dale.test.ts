/** Dale's law on feedforward nets: signs by projection, balanced initialisation, every feedforward rule, saved checkpoints. */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createConvnet, convnetOptions } from '../../models/convnet.js';
import { createMlp, type MlpOptions, mlpOptions } from '../../models/mlp.js';
import { readParamsDir } from '../../src/checkpoint.js';
import { UsageError } from '../../src/errors.js';
import { datasets } from '../../src/registries.js';
import { Rng } from '../../src/rng.js';
import { train } from '../../src/trainer.js';
import { oneLineError, runCli, smallDigits, teacherDataset, tempDir } from '../helpers.js';
import { optionDefaults } from '../../src/options.js';

const opts: MlpOptions = { ...optionDefaults(mlpOptions), hidden: [10, 5], activation: 'relu', init: 'torch', initScale: 1, dale: 0.8 };

const rows = (t: tf.Tensor) => t.arraySync() as number[][];

describe("Dale's law on mlp", () => {
  it('signs rows by presynaptic type (first ⌈0.8n⌉ excitatory), leaves the input layer free, balances every column', () => {
    const m = createMlp(opts, { inputShape: [6], outputSize: 3 });
    const p = m.init(new Rng('dale-init'));
    const w0 = rows(p['l0/W']!).flat();
    expect(w0.some((v) => v > 0) && w0.some((v) => v < 0)).toBe(true);
    for (const [name, nE] of [['l1/W', 8], ['l2/W', 4]] as const) {
      const w = rows(p[name]!);
      w.forEach((r, i) => r.forEach((v) => expect(i < nE ? v >= 0 : v <= 0).toBe(true)));
      for (let j = 0; j < w[0]!.length; j++) {
        const e = w.slice(0, nE).reduce((s, r) => s + r[j]!, 0);
        const inh = w.slice(nE).reduce((s, r) => s - r[j]!, 0);
        expect(inh).toBeCloseTo(e, 5);
      }
      expect(m.specs[name]!.constraint!.violations(p[name]!)).toBe(0);
    }
    // The magnitudes keep the unconstrained draw's Frobenius norm.
    const free = createMlp({ ...optionDefaults(mlpOptions), ...opts, dale: 0 }, { inputShape: [6], outputSize: 3 }).init(new Rng('dale-init'));
    for (const name of ['l1/W', 'l2/W']) expect(tf.norm(p[name]!).dataSync()[0]).toBeCloseTo(tf.norm(free[name]!).dataSync()[0]!, 4);
  });

  it('--dale-inputs makes the first layer excitatory', () => {
    const m = createMlp({ ...optionDefaults(mlpOptions), ...opts, daleInputs: true }, { inputShape: [6], outputSize: 3 });
    const p = m.init(new Rng('dale-inputs'));
    expect(Math.min(...rows(p['l0/W']!).flat())).toBeGreaterThanOrEqual(0);
  });

  it('projection puts a wrong-signed weight at zero and counts violations', () => {
    const m = createMlp(opts, { inputShape: [6], outputSize: 3 });
    const c = m.specs['l2/W']!.constraint!;
    const w = tf.tensor2d([[1, -2, 0.5], ...Array.from({ length: 7 }, () => [0.1, 0.1, 0.1]), [-1, 3, 0], [2, -0.5, -1]]);
    expect(c.violations(w)).toBe(3);
    const projected = rows(c.project(w)).map((r) => r.map((v) => v + 0)); // −0 → 0
    expect(projected[0]).toEqual([1, 0, 0.5]);
    expect(projected[8]).toEqual([-1, 0, 0]);
    expect(projected[9]).toEqual([0, -0.5, -1]);
  });

  it('refuses fractions outside [0, 1) and nets without hidden units', () => {
    expect(() => createMlp({ ...optionDefaults(mlpOptions), ...opts, hidden: [] }, { inputShape: [6], outputSize: 3 })).toThrow(UsageError);
    expect(() => createMlp({ ...optionDefaults(mlpOptions), ...opts, hidden: [1] }, { inputShape: [6], outputSize: 3 })).toThrow(/leaves no inhibitory unit/);
    oneLineError(runCli(['train', '--dataset', 'mnist-mini', '--model', 'mlp', '--dale', '1.5', '--steps', '1']), /--dale must be a fraction of excitatory units in \[0, 1\)/);
  });

  it.each(['bp', 'fa', 'dfa', 'usf', 'frsf', 'brsf'])('%s trains it and no saved checkpoint breaks a sign', async (rule) => {
    if (!datasets.has('dale-teacher')) datasets.register({ name: 'dale-teacher', description: 'test', load: async () => teacherDataset('dale') });
    const out = tempDir();
    const s = await train(
      { dataset: 'dale-teacher', model: 'mlp', modelOptions: { hidden: [32, 16], dale: 0.8 }, rule, lr: 3e-3, steps: 150, evalEvery: 50, seed: 1 },
      { out },
    );
    expect(s.final.test.accuracy).toBeGreaterThan(0.4);
    const m = createMlp({ ...optionDefaults(mlpOptions), ...opts, hidden: [32, 16] }, { inputShape: [20], outputSize: 4 });
    const init = readParamsDir(join(out, 'init')).params;
    const end = readParamsDir(join(out, 'checkpoint')).params;
    let clipped = 0;
    for (const name of ['l1/W', 'l2/W']) {
      expect(m.specs[name]!.constraint!.violations(end[name]!)).toBe(0);
      clipped += tf.sum(tf.cast(tf.equal(end[name]!, 0), 'int32')).dataSync()[0]! - tf.sum(tf.cast(tf.equal(init[name]!, 0), 'int32')).dataSync()[0]!;
    }
    // The constraint was active: updates pushed some weights across zero and projection held them there.
    expect(clipped).toBeGreaterThan(0);
  });
});

describe("Dale's law on convnet", () => {
  it('signs conv weights by input channel and the flattened dense rows by the channel they come from', () => {
    const m = createConvnet({ ...optionDefaults(convnetOptions), arch: 'c5k3-m2-c5k3v-d6', activation: 'relu', init: 'torch', initScale: 1, dale: 0.8 }, { inputShape: [8, 8, 1], outputSize: 2 });
    const p = m.init(new Rng('dale-conv'));
    expect(m.specs['l0/W']!.constraint).toBeUndefined();
    // l1: [3, 3, 5, 5]; input channels 0–3 excitatory, 4 inhibitory.
    const k = p['l1/W']!.arraySync() as number[][][][];
    k.forEach((a) => a.forEach((b) => b.forEach((ch, c) => ch.forEach((v) => expect(c < 4 ? v >= 0 : v <= 0).toBe(true)))));
    // l2 (dense after flatten of [2, 2, 5]): row r comes from channel r mod 5.
    const d = rows(p['l2/W']!);
    expect(d).toHaveLength(20);
    d.forEach((r, i) => r.forEach((v) => expect(i % 5 < 4 ? v >= 0 : v <= 0).toBe(true)));
    // l3 (output) from the 6 dense units: 5 excitatory, 1 inhibitory.
    rows(p['l3/W']!).forEach((r, i) => r.forEach((v) => expect(i < 5 ? v >= 0 : v <= 0).toBe(true)));
    for (const n of ['l1/W', 'l2/W', 'l3/W']) expect(m.specs[n]!.constraint!.violations(p[n]!)).toBe(0);
  });

  it.each(['bp', 'dfa', 'usf'])('%s trains a Dale convnet and keeps every sign in the checkpoint', async (rule) => {
    if (!datasets.has('dale-digits')) datasets.register({ name: 'dale-digits', description: 'test', load: async () => smallDigits() });
    const out = tempDir();
    const arch = 'c8k3-m2-c8k3v-m2-d32';
    await train({ dataset: 'dale-digits', model: 'convnet', modelOptions: { arch, dale: 0.8 }, rule, lr: 1e-3, steps: 40, evalEvery: 20, seed: 2 }, { out });
    const m = createConvnet({ ...optionDefaults(convnetOptions), arch, activation: 'relu', init: 'torch', initScale: 1, dale: 0.8 }, smallDigits());
    const end = readParamsDir(join(out, 'checkpoint')).params;
    for (const n of ['l1/W', 'l2/W', 'l3/W']) expect(m.specs[n]!.constraint!.violations(end[n]!)).toBe(0);
  });
});
