/**
 * GEVB and the vectorized nonnegative networks: the forward pass and the
 * update against a hand derivation, the sign match with backprop on single
 * examples (the VNN theory), alignment at initialisation against width, and
 * nonnegativity through training and in checkpoints.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVnn, createVnnConv } from '../../models/vnn.js';
import { loadMnistMini } from '../../datasets/mnist.js';
import { createDfa } from '../../rules/dfa.js';
import { createGevb, gevb as gevbEntry } from '../../rules/gevb.js';
import { checkRequirements } from '../../src/capabilities.js';
import { readParamsDir } from '../../src/checkpoint.js';
import { UsageError } from '../../src/errors.js';
import { evaluate } from '../../src/evaluate.js';
import { autodiffStep } from '../../src/grad.js';
import { lossFor } from '../../src/losses.js';
import { Rng } from '../../src/rng.js';
import { train } from '../../src/trainer.js';
import type { Batch, Model, Params } from '../../src/types.js';
import { oneLineError, runCli, tempDir } from '../helpers.js';

const loss = lossFor('softmax-ce');
const gevb = (model: Model, params: Params, batch: Batch) => createGevb().step({ model, params, batch, loss, state: { tensors: {} }, step: 0, rng: new Rng('r') }).updates;
const bp = (model: Model, params: Params, batch: Batch) => autodiffStep({ model, params, batch, loss }).updates;
const arr = (t: tf.Tensor) => Array.from(t.dataSync());

function digits(n: number, offset = 0, shape = [784]): Batch {
  const ds = loadMnistMini({ val: 0 });
  const b = ds.batch('train', Array.from({ length: n }, (_, i) => offset + i));
  return { ...b, x: tf.reshape(b.x, [n, ...shape]) };
}

describe('vnn forward and GEVB, by hand', () => {
  it('gates whole vectors by t·a ≥ 0 and broadcasts e to active units (first layer per component)', () => {
    const [D, K, H, B] = [5, 3, 4, 2];
    const model = createVnn({ hidden: [H] }, { inputShape: [D], outputSize: K });
    const p = model.init(new Rng('vnn-hand'));
    p['l0/b']!.dispose();
    p['l0/b'] = tf.tensor2d([[0.1, -0.2, 0.05, 0], [0, 0.1, -0.1, 0.2], [0.3, 0, 0, -0.1]]);
    const rng = new Rng('vnn-x');
    const x = Array.from({ length: B }, () => Array.from({ length: D }, () => rng.normal()));
    const y = [2, 0];
    const batch: Batch = { x: tf.tensor2d(x), y: tf.tensor1d(y, 'int32'), size: B };
    const W0 = p['l0/W']!.arraySync() as number[][];
    const b0 = p['l0/b']!.arraySync() as number[][];
    const t = p['l0/t']!.arraySync() as number[][];
    const Wout = (p['l1/W']!.arraySync() as number[][]).map((r) => r[0]!);
    const bout = arr(p['l1/b']!);
    const want = { W0: W0.map((r) => r.map(() => 0)), b0: b0.map((r) => r.map(() => 0)), Wout: Wout.map(() => 0) };
    const z: number[][] = [];
    for (let b = 0; b < B; b++) {
      const a = Array.from({ length: K }, (_, k) => Array.from({ length: H }, (_, i) => x[b]!.reduce((s, xd, d) => s + xd * W0[d]![k * H + i]!, 0) + b0[k]![i]!));
      const m = Array.from({ length: H }, (_, i) => (a.reduce((s, ak, k) => s + t[k]![i]! * ak[i]!, 0) >= 0 ? 1 : 0));
      const h = a.map((ak) => ak.map((v, i) => v * m[i]!));
      const zb = Array.from({ length: K }, (_, k) => h[k]!.reduce((s, v, i) => s + v * Wout[i]!, 0) + bout[k]!);
      z.push(zb);
      const mx = Math.max(...zb);
      const ex = zb.map((v) => Math.exp(v - mx));
      const e = ex.map((v, k) => (v / ex.reduce((s, u) => s + u, 0) - (k === y[b] ? 1 : 0)) / B);
      for (let d = 0; d < D; d++) for (let k = 0; k < K; k++) for (let i = 0; i < H; i++) want.W0[d]![k * H + i]! += m[i]! * e[k]! * x[b]![d]!;
      for (let k = 0; k < K; k++) for (let i = 0; i < H; i++) want.b0[k]![i]! += m[i]! * e[k]!;
      for (let i = 0; i < H; i++) want.Wout[i]! += h.reduce((s, hk, k) => s + hk[i]! * e[k]!, 0);
    }
    const out = model.forward(p, batch.x).output.arraySync() as number[][];
    out.forEach((row, b) => row.forEach((v, k) => expect(v).toBeCloseTo(z[b]![k]!, 5)));
    const u = gevb(model, p, batch);
    arr(u['l0/W']!).forEach((v, i) => expect(v).toBeCloseTo(want.W0.flat()[i]!, 6));
    arr(u['l0/b']!).forEach((v, i) => expect(v).toBeCloseTo(want.b0.flat()[i]!, 6));
    arr(u['l1/W']!).forEach((v, i) => expect(v).toBeCloseTo(want.Wout[i]!, 6));
    // The output unit learns by its exact gradient.
    arr(bp(model, p, batch)['l1/W']!).forEach((v, i) => expect(v).toBeCloseTo(want.Wout[i]!, 6));
  });

  it('initialises ON/OFF pairs: opposite first-layer weights and gating vectors, nonnegative later weights', () => {
    const model = createVnn({ hidden: [8, 6] }, { inputShape: [12], outputSize: 4 });
    const p = model.init(new Rng('pairs'));
    const W0 = p['l0/W']!.arraySync() as number[][];
    for (const row of W0) for (let c = 0; c < 4; c++) for (let i = 0; i < 8; i += 2) expect(row[c * 8 + i]).toBe(-row[c * 8 + i + 1]!);
    const t = p['l0/t']!.arraySync() as number[][];
    for (const row of t) for (let i = 0; i < 8; i += 2) expect(row[i]! * row[i + 1]!).toBe(-1);
    for (const name of ['l1/W', 'l2/W']) expect(model.specs[name]!.constraint!.violations(p[name]!)).toBe(0);
    expect(() => createVnn({ hidden: [7] }, { inputShape: [12], outputSize: 4 })).toThrow(/must be even/);
  });
});

describe('GEVB against backprop', () => {
  const nets = [
    { label: 'vnn', make: () => createVnn({ hidden: [32, 32] }, { inputShape: [784], outputSize: 10 }), shape: [784] },
    { label: 'vnn-conv', make: () => createVnnConv({ channels: [4, 4], hidden: [16] }, { inputShape: [28, 28, 1], outputSize: 10 }), shape: [28, 28, 1] },
  ];

  it.each(nets)('$label: on single examples every dense-layer and bias update has the sign of the gradient wherever the gradient is nonzero', ({ make, shape }) => {
    // Conv weights are shared across positions whose backprop factors c differ, so only their
    // per-position products carry the guarantee; their sums usually but not always agree.
    const model = make();
    const p = model.init(new Rng('sign'));
    const convWeights = new Set(model.layers!.filter((l) => l.kind === 'conv').map((l) => l.weight));
    for (let i = 0; i < 4; i++) {
      const batch = digits(1, i, shape);
      const g = gevb(model, p, batch);
      const d = bp(model, p, batch);
      let compared = 0;
      let convAgree = 0;
      let convN = 0;
      for (const name of Object.keys(d)) {
        const [gv, dv] = [arr(g[name]!), arr(d[name]!)];
        const scale = dv.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        dv.forEach((v, j) => {
          if (Math.abs(v) <= 1e-6 * scale) return;
          if (convWeights.has(name)) {
            convN++;
            if (Math.sign(gv[j]!) === Math.sign(v)) convAgree++;
            return;
          }
          compared++;
          expect(Math.sign(gv[j]!)).toBe(Math.sign(v));
        });
      }
      expect(compared).toBeGreaterThan(100);
      if (convN) expect(convAgree / convN).toBeGreaterThan(0.7);
    }
  });

  it.each(nets)('$label: over a batch of 64, most but not necessarily all signs agree', ({ make, shape }) => {
    const model = make();
    const p = model.init(new Rng('sign-batch'));
    const batch = digits(64, 0, shape);
    const [g, d] = [gevb(model, p, batch), bp(model, p, batch)];
    let agree = 0;
    let n = 0;
    for (const name of Object.keys(d)) {
      const [gv, dv] = [arr(g[name]!), arr(d[name]!)];
      dv.forEach((v, j) => {
        if (v === 0) return;
        n++;
        if (Math.sign(gv[j]!) === Math.sign(v)) agree++;
      });
    }
    expect(agree / n).toBeGreaterThan(0.7);
    expect(agree / n).toBeLessThanOrEqual(1);
  });

  it('at initialisation the first layer’s update aligns with the gradient better as width grows (64, 256, 1024), cosine > 0.9 at 1024', () => {
    const batch = digits(128);
    const cosines = [64, 256, 1024].map((w) => {
      const model = createVnn({ hidden: [w, w] }, { inputShape: [784], outputSize: 10 });
      const p = model.init(new Rng(`width-${w}`));
      const [g, d] = [gevb(model, p, batch)['l0/W']!, bp(model, p, batch)['l0/W']!];
      const c = tf.tidy(() => tf.sum(tf.mul(g, d)).dataSync()[0]! / (tf.norm(g).dataSync()[0]! * tf.norm(d).dataSync()[0]!));
      tf.dispose([...Object.values(p)]);
      return c;
    });
    expect(cosines[1]).toBeGreaterThan(cosines[0]!);
    expect(cosines[2]).toBeGreaterThan(cosines[1]!);
    expect(cosines[2]).toBeGreaterThan(0.9);
  });
});

describe('GEVB training', () => {
  it('keeps every later layer nonnegative after each step and in the saved checkpoint, and learns', async () => {
    const out = tempDir();
    const s = await train({ dataset: 'mnist-mini', model: 'vnn', modelOptions: { hidden: [32, 32] }, rule: 'gevb', lr: 1e-2, steps: 40, evalEvery: 20, batchSize: 64, seed: 1 }, { out });
    expect(s.final.test.accuracy).toBeGreaterThan(0.6);
    const model = createVnn({ hidden: [32, 32] }, { inputShape: [28, 28, 1], outputSize: 10 });
    const saved = readParamsDir(join(out, 'checkpoint')).params;
    let zeros = 0;
    for (const name of ['l1/W', 'l2/W']) {
      expect(model.specs[name]!.constraint!.violations(saved[name]!)).toBe(0);
      zeros += arr(saved[name]!).filter((v) => v === 0).length;
    }
    // The projection was active (the ON/OFF initialisation alone has zeros too; the update moved some weights onto the bound).
    expect(zeros).toBeGreaterThan(0);
    const init = readParamsDir(join(out, 'init')).params;
    expect(arr(saved['l0/t']!)).toEqual(arr(init['l0/t']!));
  });

  it('dfa runs on vnn and vnn-conv (finite updates shaped like the parameters)', () => {
    // It runs; it does not learn well there (the paper's DFA column is on conventional nets).
    for (const [model, shape] of [
      [createVnn({ hidden: [16, 8] }, { inputShape: [784], outputSize: 10 }), [784]],
      [createVnnConv({ channels: [4], hidden: [8] }, { inputShape: [28, 28, 1], outputSize: 10 }), [28, 28, 1]],
    ] as const) {
      const p = model.init(new Rng('dfa-vnn'));
      const rule = createDfa({ batchManhattan: false, weightNorm: false, feedbackScale: 1, dfaConv: 'shared' });
      const state = rule.init(model, p, new Rng('fb'));
      const u = rule.step({ model, params: p, batch: digits(8, 0, [...shape]), loss, state, step: 0, rng: new Rng('r') }).updates;
      for (const [name, spec] of Object.entries(model.specs)) {
        if (spec.trainable === false) continue;
        expect(u[name]!.shape).toEqual(spec.shape);
        expect(arr(u[name]!).every(Number.isFinite)).toBe(true);
      }
    }
  });

  it('vnn-conv caps its evaluation batches (memory) without changing the result', () => {
    const ds = loadMnistMini({ val: 0 });
    const model = createVnnConv({ channels: [64, 32], hidden: [16] }, { inputShape: [28, 28, 1], outputSize: 10 });
    expect(model.maxBatch).toBe(99);
    const small = createVnnConv({ channels: [4], hidden: [8] }, { inputShape: [28, 28, 1], outputSize: 10 });
    const p = small.init(new Rng('cap'));
    const capped = { ...small, maxBatch: 7 };
    const a = evaluate(capped, p, ds, 'test', 1000);
    const b = evaluate(small, p, ds, 'test', 1000);
    expect(a.n).toBe(2000);
    expect(a.accuracy).toBe(b.accuracy);
    expect(a.loss).toBeCloseTo(b.loss, 5);
  });

  it('refuses models that are not vectorized, with one clear line', async () => {
    expect(() => checkRequirements('rule gevb', gevbEntry.requires, createVnn({ hidden: [4] }, { inputShape: [4], outputSize: 2 }))).not.toThrow();
    oneLineError(runCli(['train', '--dataset', 'mnist-mini', '--model', 'mlp', '--rule', 'gevb', '--steps', '1', '--quiet']), /rule gevb needs vectorized units; model mlp does not provide them/);
    expect(() => createVnnConv({ channels: [4, 4, 4, 4, 4], hidden: [8] }, { inputShape: [28, 28, 1], outputSize: 10 })).toThrow(UsageError);
  });
});
