/**
 * The feedforward rules against independent derivations: each reduces to
 * backprop when its feedback equals the weights backprop would use, and DFA's
 * conv-layer update equals a hand-built one.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createConvnet, convnetOptions } from '../../models/convnet.js';
import { createMlp, mlpOptions } from '../../models/mlp.js';
import { createBackprop } from '../../rules/bp.js';
import { createBrsf } from '../../rules/brsf.js';
import { createDfa } from '../../rules/dfa.js';
import { createFa } from '../../rules/fa.js';
import { createFrsf } from '../../rules/frsf.js';
import { createUsf } from '../../rules/usf.js';
import { activation } from '../../src/activations.js';
import { autodiffStep } from '../../src/grad.js';
import { lossFor } from '../../src/losses.js';
import { conv2dFilterGrad } from '../../src/ops.js';
import { Rng } from '../../src/rng.js';
import type { Batch, LearningRule, Model, Params, RuleState } from '../../src/types.js';
import { optionDefaults } from '../../src/options.js';

const loss = lossFor('softmax-ce');
const plain = { batchManhattan: false, weightNorm: false };

function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.div(tf.max(tf.abs(tf.sub(a, b))), tf.add(tf.max(tf.abs(b)), 1e-12)).dataSync()[0]!);
}

function setup(model: Model, seed: string, inputShape: number[], batchSize = 8) {
  const rng = new Rng(seed);
  const params = model.init(rng);
  const n = inputShape.reduce((a, b) => a * b, 1);
  const batch: Batch = {
    x: tf.tensor(rng.normals(batchSize * n), [batchSize, ...inputShape]),
    y: tf.tensor1d(Array.from({ length: batchSize }, (_, i) => i % 4), 'int32'),
    size: batchSize,
  };
  return { params, batch, rng };
}

function step(rule: LearningRule, model: Model, params: Params, batch: Batch, state: RuleState, rng = new Rng('rule')) {
  return rule.step({ model, params, batch, loss, state, step: 0, rng });
}

function expectEqualUpdates(a: Params, b: Params, tol = 1e-6) {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(b)) expect(relErr(a[k]!, b[k]!), k).toBeLessThan(tol);
}

const mlp = () => createMlp({ ...optionDefaults(mlpOptions), hidden: [12, 10], activation: 'tanh', init: 'xavier', initScale: 1 }, { inputShape: [7], outputSize: 4 });
const convnet = () =>
  createConvnet({ ...optionDefaults(convnetOptions), arch: 'c3k3-m2-c4k3v-a2-d9', activation: 'relu', init: 'kaiming', initScale: 1 }, { inputShape: [10, 10, 2], outputSize: 4 });

describe.each([
  ['mlp', mlp, [7]],
  ['convnet', convnet, [10, 10, 2]],
] as const)('on %s', (_name, make, inputShape) => {
  it('fa with F := W equals backprop', () => {
    const model = make();
    const { params, batch, rng } = setup(model, 'fa-eq', [...inputShape]);
    const rule = createFa({ ...plain, feedbackScale: 1 });
    const state = rule.init(model, params, rng);
    expect(Object.keys(state.tensors).length).toBe(model.layers!.length - 1);
    for (const k of Object.keys(state.tensors)) state.tensors[k] = params[k.replace('/F', '/W')]!.clone();
    expectEqualUpdates(step(rule, model, params, batch, state).updates, autodiffStep({ model, params, batch, loss }).updates);
  });

  it('fa with random F differs from backprop below the output layer only', () => {
    const model = make();
    const { params, batch, rng } = setup(model, 'fa-rand', [...inputShape]);
    const rule = createFa({ ...plain, feedbackScale: 1 });
    const fa = step(rule, model, params, batch, rule.init(model, params, rng)).updates;
    const bp = autodiffStep({ model, params, batch, loss }).updates;
    const out = model.layers!.at(-1)!;
    expect(relErr(fa[out.weight]!, bp[out.weight]!)).toBeLessThan(1e-6);
    expect(relErr(fa[model.layers![0]!.weight]!, bp[model.layers![0]!.weight]!)).toBeGreaterThan(0.1);
  });

  it('usf with s = 1 on weights of magnitude 1 equals backprop', () => {
    const model = make();
    const { params, batch, rng } = setup(model, 'usf-eq', [...inputShape]);
    for (const layer of model.layers!) params[layer.weight] = tf.sign(params[layer.weight]!);
    const rule = createUsf({ ...plain, signScale: 1 });
    expectEqualUpdates(step(rule, model, params, batch, rule.init(model, params, rng)).updates, autodiffStep({ model, params, batch, loss }).updates);
  });

  it('frsf with |M| = 1 on weights of magnitude 1 equals backprop', () => {
    const model = make();
    const { params, batch, rng } = setup(model, 'frsf-eq', [...inputShape]);
    for (const layer of model.layers!) params[layer.weight] = tf.sign(params[layer.weight]!);
    const rule = createFrsf({ ...plain, feedbackScale: 1 });
    const state = rule.init(model, params, rng);
    for (const k of Object.keys(state.tensors)) state.tensors[k] = tf.onesLike(state.tensors[k]!);
    expectEqualUpdates(step(rule, model, params, batch, state).updates, autodiffStep({ model, params, batch, loss }).updates);
  });

  it('brsf redraws its magnitudes for every batch, reproducibly from its stream', () => {
    const model = make();
    const { params, batch, rng } = setup(model, 'brsf', [...inputShape]);
    const rule = createBrsf({ ...plain, feedbackScale: 1 });
    const state = rule.init(model, params, rng);
    const w0 = model.layers![0]!.weight;
    const stream = new Rng('brsf-stream');
    const first = step(rule, model, params, batch, state, stream).updates[w0]!;
    const second = step(rule, model, params, batch, state, stream).updates[w0]!;
    const again = step(rule, model, params, batch, state, new Rng('brsf-stream')).updates[w0]!;
    expect(relErr(first, second)).toBeGreaterThan(1e-3);
    expect(relErr(again, first)).toBe(0);
  });

  it('Batch-Manhattan steps along the sign of the update', () => {
    const model = make();
    const { params, batch, rng } = setup(model, 'bm', [...inputShape]);
    const rule = createBackprop({ batchManhattan: true, weightNorm: false });
    const bm = step(rule, model, params, batch, rule.init(model, params, rng)).updates;
    const bp = autodiffStep({ model, params, batch, loss }).updates;
    for (const k of Object.keys(bp)) expect(Array.from(bm[k]!.dataSync())).toEqual(Array.from(tf.sign(bp[k]!).dataSync()));
  });
});

describe('dfa', () => {
  it('with one hidden layer and D := W₂ᵀ equals backprop', () => {
    const model = createMlp({ ...optionDefaults(mlpOptions), hidden: [9], activation: 'sigmoid', init: 'xavier', initScale: 1 }, { inputShape: [5], outputSize: 4 });
    const { params, batch, rng } = setup(model, 'dfa-eq', [5]);
    const rule = createDfa({ ...plain, feedbackScale: 1, dfaConv: 'shared' });
    const state = rule.init(model, params, rng);
    expect(Object.keys(state.tensors)).toEqual(['l0/D']);
    state.tensors['l0/D'] = tf.transpose(params['l1/W']!);
    expectEqualUpdates(step(rule, model, params, batch, state).updates, autodiffStep({ model, params, batch, loss }).updates);
  });

  it.each([
    ['full', [4, 6 * 6 * 3]],
    ['shared', [4, 3]],
  ] as const)('projects the output error onto each conv layer’s activation shape (%s)', (mode, dShape) => {
    const model = createConvnet({ ...optionDefaults(convnetOptions), arch: 'c3k3-m2-d6', activation: 'relu', init: 'kaiming', initScale: 1 }, { inputShape: [6, 6, 1], outputSize: 4 });
    const { params, batch, rng } = setup(model, 'dfa-conv', [6, 6, 1]);
    const rule = createDfa({ ...plain, feedbackScale: 1, dfaConv: mode });
    const state = rule.init(model, params, rng);
    expect(state.tensors['l0/D']!.shape).toEqual(dShape);
    expect(state.tensors['l1/D']!.shape).toEqual([4, 6]);
    const updates = step(rule, model, params, batch, state).updates;
    // By hand: e = ∂L/∂logits; δ0 = (e D0 at every position, or reshaped) ⊙ relu'(a0); ∂L/∂K0 = filter gradient of the conv.
    const { output, trace } = model.forward(params, batch.x);
    const e = loss.outputGrad(output, batch);
    const t0 = trace[0]!;
    const projected = tf.matMul(e, state.tensors['l0/D']!);
    const atOutput = mode === 'full' ? tf.reshape(projected, t0.pre.shape) : tf.tile(tf.reshape(projected, [8, 1, 1, 3]), [1, 6, 6, 1]);
    const delta0 = tf.mul(atOutput, activation('relu').df(t0.pre, t0.post));
    const expected = conv2dFilterGrad(t0.input as tf.Tensor4D, delta0 as tf.Tensor4D, [3, 3, 1, 3], 1, 'same');
    expect(relErr(updates['l0/W']!, expected)).toBeLessThan(1e-5);
    expect(relErr(updates['l0/b']!, tf.sum(delta0, [0, 1, 2]))).toBeLessThan(1e-5);
  });
});

describe('weight-norm constraint', () => {
  it('rescales every layer to its initial norm', () => {
    const model = mlp();
    const { params, rng } = setup(model, 'wn', [7]);
    const rule = createFa({ batchManhattan: false, weightNorm: true, feedbackScale: 1 });
    const state = rule.init(model, params, rng);
    const grown: Params = { ...params };
    for (const layer of model.layers!) grown[layer.weight] = tf.mul(params[layer.weight]!, 3);
    const fixed = rule.constrain!(grown, state);
    for (const layer of model.layers!) {
      expect(tf.norm(fixed[layer.weight]!).dataSync()[0]).toBeCloseTo(tf.norm(params[layer.weight]!).dataSync()[0]!, 4);
    }
  });
});
