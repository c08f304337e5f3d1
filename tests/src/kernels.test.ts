/**
 * The kernel test table: every kernel override (src/kernels/) against the plain
 * CPU backend, on the backends it is installed on. Each row computes with
 * ordinary tfjs ops that reach the kernel; an override without a row fails the
 * suite.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, parseBackendChoice } from '../../src/backend.js';
import { createRnn, rnnOptions } from '../../models/rnn.js';
import type { ActivationName } from '../../src/activations.js';
import { KERNELS } from '../../src/kernels/index.js';
import { Adam } from '../../src/optim.js';
import { optionDefaults } from '../../src/options.js';
import { trainableNames } from '../../src/params.js';
import { Rng } from '../../src/rng.js';
import { globalNorm } from '../../src/tensors.js';

type Shape4 = readonly [number, number, number, number];

/** A case: its label, what it computes, and the largest error allowed relative to the largest CPU value. */
interface Case {
  label: string;
  compute(): tf.Tensor;
  tol: number;
}

const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const matmuls = (): Case[] => {
  const a = [2, 3, 5].map((n, i) => seq(7 * n, (j) => Math.sin(j * (i + 1))));
  const cases: [number[], number[], number[], number[], boolean, boolean][] = [
    [a[0]!, [7, 2], a[0]!, [7, 2], true, false],
    [a[1]!, [3, 7], a[1]!, [3, 7], false, true],
    [a[2]!, [7, 5], a[2]!, [5, 7], true, true],
  ];
  return [
    ...cases.map(([av, as, bv, bs, ta, tb]) => ({ label: `[${as}]${ta ? 'ᵀ' : ''} · [${bs}]${tb ? 'ᵀ' : ''}`, compute: () => tf.matMul(tf.tensor(av, as), tf.tensor(bv, bs), ta, tb), tol: 1e-5 })),
    // Batched (rank-3) products take the same path.
    { label: 'batched [2, 7, 5]ᵀ · [2, 7, 5]', compute: () => tf.matMul(tf.tensor(a[2]!.concat(a[2]!), [2, 7, 5]), tf.tensor(a[2]!.concat(a[2]!), [2, 7, 5]), true, false), tol: 1e-5 },
    // Across the native GEMM's blocks (rows of 128, depth of 256, tiles of 32 columns, panels of 2048) and its ragged edges.
    ...([
      [[130, 300], [300, 70], false, false],
      [[300, 130], [70, 300], true, true],
      [[3, 40], [40, 2100], false, false],
      [[40, 3], [2100, 40], true, true],
    ] as [number[], number[], boolean, boolean][]).map(([as, bs, ta, tb]) => ({
      label: `[${as}]${ta ? 'ᵀ' : ''} · [${bs}]${tb ? 'ᵀ' : ''}`,
      compute: () => tf.matMul(tf.tensor(seq(size(as), (i) => Math.sin(0.13 * i)), as), tf.tensor(seq(size(bs), (i) => Math.cos(0.07 * i)), bs), ta, tb),
      tol: 1e-5,
    })),
    // A matrix shared by the batch, on either side, and a batch of one against a batch of two.
    { label: 'broadcast [3, 5, 7] · [7, 4]', compute: () => tf.matMul(tf.tensor(seq(105, (i) => Math.sin(i)), [3, 5, 7]), tf.tensor(seq(28, (i) => Math.cos(i)), [7, 4])), tol: 1e-5 },
    { label: 'broadcast [5, 7]ᵀ · [2, 5, 4]', compute: () => tf.matMul(tf.tensor(seq(35, (i) => Math.sin(i)), [5, 7]), tf.tensor(seq(40, (i) => Math.cos(i)), [2, 5, 4]), true, false), tol: 1e-5 },
    { label: 'broadcast [1, 5, 7] · [2, 7, 4]ᵀ', compute: () => tf.matMul(tf.tensor(seq(35, (i) => Math.sin(i)), [1, 5, 7]), tf.tensor(seq(56, (i) => Math.cos(i)), [2, 4, 7]), false, true), tol: 1e-5 },
    // The gradients of a dense layer take both transposed forms.
    {
      label: 'gradient of sum(tanh(x · w)²) with respect to w',
      compute: () => tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.tanh(tf.matMul(tf.tensor(seq(64 * 50, (i) => Math.sin(0.3 * i)), [64, 50]), w)))))(tf.tensor(seq(50 * 33, (i) => 0.1 * Math.cos(i)), [50, 33])),
      tol: 1e-5,
    },
  ];
};

/** The gradient of sum(conv2d(x, k)²) with respect to x or k. */
const convGrads = (wrt: 'x' | 'filter'): Case[] =>
  (
    [
      [[2, 9, 9, 3], [3, 3, 3, 4], 1, 'same'],
      [[2, 9, 9, 3], [3, 3, 3, 4], 1, 'valid'],
      [[3, 10, 11, 2], [4, 4, 2, 3], 1, 'same'],
      [[2, 14, 14, 6], [5, 5, 6, 16], 1, 'valid'],
      [[3, 10, 11, 2], [5, 5, 2, 3], 2, 'same'],
      [[3, 10, 11, 2], [4, 4, 2, 3], 2, 'same'],
      [[1, 12, 12, 1], [5, 5, 1, 6], 3, 'valid'],
      [[1, 1, 1, 1], [1, 1, 1, 1], 1, 'valid'],
      // More patches than one chunk of the native im2col (a million floats): the filter gradient sums over chunks.
      [[20, 32, 32, 4], [5, 5, 4, 3], 1, 'same'],
      // Stride 1 with more channels than the native plane kernels take (im2col), and padding beyond the filter.
      [[2, 8, 8, 20], [3, 3, 20, 18], 1, 'same'],
      [[2, 6, 7, 2], [3, 3, 2, 3], 1, 3],
      // 16 output channels, valid (channels in the lanes): filter rows of 21 and 54 entries (one, three blocks),
      // output rows of 17 and 25 (two, three blocks); padded, they go to the plane kernels.
      [[2, 20, 19, 7], [3, 3, 7, 16], 1, 'valid'],
      [[1, 9, 30, 9], [2, 6, 9, 16], 1, 'valid'],
      [[2, 9, 9, 3], [3, 3, 3, 16], 1, 'same'],
    ] as [Shape4, Shape4, number, 'same' | 'valid' | number][]
  ).map(([xShape, kShape, stride, pad]) => ({
    label: `x [${xShape}], filter [${kShape}], stride ${stride}, padding ${pad}`,
    compute: () => {
      const x = tf.tensor4d(seq(size(xShape), (i) => Math.sin(0.37 * i)), [...xShape]);
      const k = tf.tensor4d(seq(size(kShape), (i) => Math.cos(0.11 * i)), [...kShape]);
      const loss = (xi: tf.Tensor, ki: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xi as tf.Tensor4D, ki as tf.Tensor4D, stride, pad)));
      return wrt === 'x' ? tf.grad((xi: tf.Tensor) => loss(xi, k))(x) : tf.grad((ki: tf.Tensor) => loss(x, ki))(k);
    },
    tol: 1e-5,
  }));

/** conv2d itself: strides, dilations, padding, a 1×1 image, and more patches than one native chunk. */
const convs = (): Case[] =>
  (
    [
      [[2, 9, 9, 3], [3, 3, 3, 4], 1, 1, 'same'],
      [[3, 10, 11, 2], [4, 4, 2, 3], 2, 1, 'same'],
      [[2, 14, 14, 6], [5, 5, 6, 16], 1, 1, 'valid'],
      [[2, 12, 13, 3], [3, 3, 3, 5], 1, 2, 'same'],
      [[1, 1, 1, 1], [1, 1, 1, 1], 1, 1, 'valid'],
      [[20, 32, 32, 4], [5, 5, 4, 3], 1, 1, 'same'],
      [[2, 8, 8, 3], [3, 3, 3, 20], 1, 1, 'same'],
      [[2, 6, 7, 2], [3, 3, 2, 3], 1, 1, 3],
      // 16 output channels, valid (channels in the lanes; [2, 14, 14, 6] above is one block a row), output rows in two and
      // three blocks; padded (planes); strided (im2col).
      [[2, 20, 19, 7], [3, 3, 7, 16], 1, 1, 'valid'],
      [[1, 9, 30, 9], [2, 6, 9, 16], 1, 1, 'valid'],
      [[2, 9, 9, 3], [3, 3, 3, 16], 1, 1, 'same'],
      [[2, 9, 9, 3], [3, 3, 3, 16], 2, 1, 'valid'],
    ] as [Shape4, Shape4, number, number, 'same' | 'valid' | number][]
  ).map(([xShape, kShape, stride, dilation, pad]) => ({
    label: `x [${xShape}], filter [${kShape}], stride ${stride}, dilation ${dilation}, padding ${pad}`,
    compute: () =>
      tf.conv2d(tf.tensor4d(seq(size(xShape), (i) => Math.sin(0.37 * i)), [...xShape]), tf.tensor4d(seq(size(kShape), (i) => Math.cos(0.11 * i)), [...kShape]), stride, pad, 'NHWC', dilation),
    tol: 1e-5,
  }));

/**
 * The gradient of sum(maxPool(x)²), on inputs where some windows hold only negative values (the stock wasm kernel
 * dropped those); windows that overlap or reach past the image (the native loop) and windows apart inside it (the
 * native gathers, 16 columns × channels at a time, with a ragged end), ties included.
 */
const maxPoolGrads = (): Case[] =>
  (
    [
      [2, 2, 'valid', [2, 7, 7, 3]],
      [3, 2, 'same', [2, 7, 7, 3]],
      [2, 1, 'valid', [2, 7, 7, 3]],
      [3, 3, 'valid', [2, 7, 7, 3]],
      [2, 2, 'same', [2, 7, 7, 3]],
      [2, 2, 'valid', [2, 12, 12, 7]],
      [2, 3, 'same', [1, 11, 10, 5]],
    ] as [number, number, 'same' | 'valid', Shape4][]
  ).map(([k, stride, pad, shape]) => ({
    label: `window ${k}, stride ${stride}, ${pad}, x [${shape}]`,
    compute: () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.maxPool(x as tf.Tensor4D, k, stride, pad))))(
        // Rounded to tenths so some windows hold their maximum twice (the first must win).
        tf.tensor4d(seq(size(shape), (i) => Math.round(10 * (Math.sin(1.7 * i) - 0.95)) / 10), [...shape]),
      ),
    tol: 1e-6,
  }));

/** Max pooling itself over the same windows as its gradient: overlapping, past the image, apart inside it, ties, negative maxima. */
const maxPools = (): Case[] =>
  (
    [
      [2, 2, 'valid', [2, 7, 7, 3]],
      [3, 2, 'same', [2, 7, 7, 3]],
      [3, 3, 'valid', [2, 7, 7, 3]],
      [2, 2, 'valid', [2, 12, 12, 7]],
      [2, 3, 'same', [1, 11, 10, 5]],
    ] as [number, number, 'same' | 'valid', Shape4][]
  ).map(([k, stride, pad, shape]) => ({
    label: `window ${k}, stride ${stride}, ${pad}, x [${shape}]`,
    compute: () => tf.maxPool(tf.tensor4d(seq(size(shape), (i) => Math.round(10 * (Math.sin(1.7 * i) - 0.95)) / 10), [...shape]), k, stride, pad),
    tol: 1e-7,
  }));

/** Values around zero (−0 and 0 included), lengths that are not whole vectors. */
const around0 = (n: number) => tensorOf([n], (i) => (i === 0 ? -0 : i === 1 ? 0 : Math.sin(1.3 * i) * 3));

const relus = (): Case[] => [37, 1, 64].map((n) => ({ label: `relu of ${n} values`, compute: () => tf.relu(around0(n)), tol: 1e-7 }));

const steps = (): Case[] =>
  [0, 0.3].map((alpha) => ({ label: `step with alpha ${alpha}`, compute: () => tf.step(around0(45), alpha), tol: 1e-7 }));

/** Products of one shape (native), broadcast and int32 (wasm's), and ReLU's gradient dy ⊙ step(x). */
const multiplies = (): Case[] => [
  { label: '[3, 7] ⊙ [3, 7]', compute: () => tf.mul(tensorOf([3, 7], Math.sin), tensorOf([3, 7], Math.cos)), tol: 1e-7 },
  { label: '[3, 7] ⊙ [7]', compute: () => tf.mul(tensorOf([3, 7], Math.sin), tensorOf([7], Math.cos)), tol: 1e-7 },
  { label: 'int32 [5] ⊙ [5]', compute: () => tf.cast(tf.mul(tf.tensor1d([1, -2, 3, 4, 5], 'int32'), tf.tensor1d([2, 2, -3, 0, 1], 'int32')), 'float32'), tol: 1e-12 },
  { label: 'gradient of sum(relu(x) ⊙ c)', compute: () => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), tensorOf([37], Math.cos))))(around0(37)), tol: 1e-7 },
];

/**
 * A rate RNN's training pass (the native whole-trial kernels on wasm, the per-step graph on the
 * CPU backend): the loss and its gradient for every trainable parameter, across activations,
 * Dale's law with a trainable x0, truncation, and input and recurrent noise.
 */
const rnnTrials = (): Case[] =>
  (
    [
      ['tanh', {}, 0],
      ['relu', {}, 0],
      ['sigmoid', {}, 0],
      ['softplus', {}, 0],
      ['linear', { gain: 0.8 }, 0],
      ['tanh', { dale: 0.8, trainX0: true }, 0],
      ['tanh', {}, 7],
      ['relu', { recNoise: 0.2, inputNoise: 0.3 }, 0],
    ] as [ActivationName, Record<string, unknown>, number][]
  ).map(([activation, extra, truncate]) => ({
    label: `${activation} ${JSON.stringify(extra)}${truncate ? `, truncated every ${truncate} steps` : ''}`,
    compute: () => {
      const [B, T, I, O] = [3, 30, 2, 2];
      const options = { ...optionDefaults(rnnOptions), units: 20, tau: 100, activation, gain: 1.5, sparsity: 1, dale: 0, trainX0: false, recNoise: 0, inputNoise: 0, ...extra };
      const model = createRnn(options, { inputShape: [T, I], outputSize: O, dtMs: 20 });
      const params = model.init(new Rng('rnn-table'));
      if (options.trainX0) params['rnn/x0'] = tf.tensor1d(seq(20, (i) => 0.5 * Math.sin(i)));
      const x = tf.tensor3d(seq(B * T * I, (i) => Math.sin(0.7 * i)), [B, T, I]);
      const y = tf.tensor3d(seq(B * T * O, (i) => Math.cos(0.3 * i)), [B, T, O]);
      const names = trainableNames(model.specs);
      const loss = (...ws: tf.Tensor[]) => {
        const p = { ...params };
        names.forEach((n, i) => (p[n] = ws[i]!));
        const { output } = model.forward(p, x, { training: true, rng: new Rng('rnn-table-noise'), ...(truncate ? { truncate } : {}) });
        return tf.sum(tf.square(tf.sub(output, y))) as tf.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(loss)(names.map((n) => params[n]!));
      return tf.concat([tf.reshape(value, [1]), ...grads.map((g) => tf.reshape(g, [-1]))]);
    },
    tol: 1e-4,
  }));

/** Slices of every rank, contiguous or not, float32 and int32, and an empty one. */
const slices = (): Case[] =>
  (
    [
      [[10], [3], [4], 'float32'],
      [[4, 6], [1, 2], [2, 3], 'float32'],
      [[5, 4, 3], [2, 0, 0], [2, 4, 3], 'float32'],
      [[5, 4, 3], [1, 1, 1], [3, 2, 2], 'int32'],
      [[2, 3, 4, 5], [1, 0, 2, 1], [1, 3, 2, 3], 'float32'],
      [[2, 2, 2, 2, 3], [0, 1, 0, 1, 1], [2, 1, 2, 1, 2], 'float32'],
      [[4, 6], [1, 2], [0, 3], 'float32'],
    ] as [number[], number[], number[], 'float32' | 'int32'][]
  ).map(([shape, begin, size, dtype]) => ({
    label: `[${shape}] ${dtype} from [${begin}] size [${size}]`,
    compute: () => tf.cast(tf.slice(tf.tensor(seq(tf.util.sizeFromShape(shape), (i) => (dtype === 'int32' ? i : Math.sin(i))), shape, dtype), begin, size), 'float32'),
    // Copies: exact.
    tol: 1e-12,
  }));

/** tf.unstack along every axis of a rank-3 tensor, the pieces concatenated back in order. */
const unstacks = (): Case[] =>
  [0, 1, 2, -1].map((axis) => ({
    label: `[4, 3, 5] along axis ${axis}`,
    compute: () => tf.concat(tf.unstack(tf.tensor3d(seq(60, (i) => Math.cos(i)), [4, 3, 5]), axis).map((t) => tf.reshape(t, [-1]))),
    tol: 1e-12,
  }));

/** Three Adam steps on two tensors (one gradient holds zeros, one is large): the values and both moments. */
const adamSteps = (): Case[] => [
  {
    label: 'three steps, values and moments',
    compute: () => {
      const opt = new Adam(0.01, 0.9, 0.999);
      const vars = [tf.variable(tf.tensor2d(seq(12, (i) => Math.sin(i)), [3, 4])), tf.variable(tf.tensor1d(seq(5, (i) => Math.cos(i))))];
      for (let step = 0; step < 3; step++) {
        const grads = [tf.tensor2d(seq(12, (i) => (i % 3 === 0 ? 0 : Math.cos(i + step))), [3, 4]), tf.tensor1d(seq(5, (i) => 1e3 * Math.sin(i * step)))];
        opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
        tf.dispose(grads);
      }
      const own = opt as unknown as { accumulatedFirstMoment: { variable: tf.Variable }[]; accumulatedSecondMoment: { variable: tf.Variable }[] };
      const out = tf.concat([...vars, ...own.accumulatedFirstMoment.map((s) => s.variable), ...own.accumulatedSecondMoment.map((s) => s.variable)].map((t) => tf.reshape(t, [-1])));
      opt.dispose();
      tf.dispose(vars);
      return out;
    },
    tol: 1e-6,
  },
];

const tensorOf = (shape: number[], f: (i: number) => number) => tf.tensor(seq(tf.util.sizeFromShape(shape), f), shape);

/** A bias added to rows (either operand, flat or [1, …, 1, C]), and Adds the native path leaves to wasm. */
const adds = (): Case[] =>
  (
    [
      [[4, 5, 5, 6], [6]],
      [[6], [3, 6]],
      [[7, 9], [1, 9]],
      [[2, 3, 4], [1, 1, 4]],
      [[3, 4], [3, 1]],
      [[3, 4], [3, 4]],
      [[1], [1]],
    ] as [number[], number[]][]
  ).map(([as, bs]) => ({ label: `[${as}] + [${bs}]`, compute: () => tf.add(tensorOf(as, Math.sin), tensorOf(bs, Math.cos)), tol: 1e-7 }));

/** Sums over every axis but the last (kept dims or not), and sums the native path leaves to wasm. */
const sums = (): Case[] =>
  (
    [
      [[64, 7, 7, 6], [0, 1, 2], false],
      [[130, 33], 0, false],
      [[5, 4, 3], [1, 0], true],
      [[5, 4, 3], [0, 2], false],
      [[5, 4], 1, false],
      [[5, 4, 3], undefined, false],
    ] as [number[], number | number[] | undefined, boolean][]
  ).map(([shape, axis, keep]) => ({
    label: `[${shape}] over ${JSON.stringify(axis ?? 'all')}${keep ? ', kept' : ''}`,
    compute: () => tf.sum(tensorOf(shape, (i) => Math.sin(0.1 * i)), axis, keep),
    // Long sums with cancellation: wasm's own Sum differs from the CPU backend's by 1.3e-6 here.
    tol: 1e-5,
  }));

/** Identity shares its input's buffer on wasm: a clone outlives its source, and gradients that save tensors still hold. */
const identities = (): Case[] => [
  {
    label: 'clone of a float tensor whose source is then disposed',
    compute: () => {
      const a = tensorOf([3, 5], Math.sin);
      const b = a.clone();
      a.dispose();
      return b;
    },
    tol: 1e-12,
  },
  { label: 'clone of an int32 tensor', compute: () => tf.cast(tf.tensor1d([1, -2, 3], 'int32').clone(), 'float32'), tol: 1e-12 },
  {
    label: 'gradient of sum(exp(x)²), whose backward pass reads saved tensors',
    compute: () => tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.exp(x))))(tensorOf([4, 3], (i) => 0.1 * i)),
    tol: 1e-6,
  },
];

/** Casts to the same dtype share the buffer on wasm; casts to bool test for nonzero (wasm's kept an integer's low byte). */
const casts = (): Case[] =>
  (
    [
      ['float32', 'float32'],
      ['int32', 'int32'],
      ['float32', 'int32'],
      ['float32', 'bool'],
      ['int32', 'bool'],
    ] as [tf.DataType, tf.DataType][]
  ).map(([from, to]) => ({
    label: `${from} → ${to}`,
    compute: () => tf.cast(tf.cast(tf.cast(tensorOf([7], (i) => 1.7 * i - 4), from), to), 'float32'),
    tol: 1e-12,
  }));

/** The global norm of an update: several tensors (one not a multiple of the native pass's eight lanes), one, none. */
const globalNorms = (): Case[] =>
  (
    [
      [[3, 5], [130], [2, 2, 2]],
      [[1]],
      [],
    ] as number[][][]
  ).map((shapes) => ({
    label: shapes.length ? shapes.map((s) => `[${s}]`).join(', ') : 'no tensors',
    compute: () => globalNorm(Object.fromEntries(shapes.map((s, k) => [`p${k}`, tensorOf(s, (i) => Math.sin(0.3 * i + k))]))),
    tol: 1e-6,
  }));

const ROWS: Record<string, Case[]> = {
  BatchMatMul: matmuls(),
  Conv2D: convs(),
  Conv2DBackpropFilter: convGrads('filter'),
  Conv2DBackpropInput: convGrads('x'),
  MaxPool: maxPools(),
  MaxPoolGrad: maxPoolGrads(),
  Relu: relus(),
  Step: steps(),
  Multiply: multiplies(),
  RateRnnSequence: rnnTrials(),
  Slice: slices(),
  Unpack: unstacks(),
  BiocreditAdam: adamSteps(),
  Add: adds(),
  Sum: sums(),
  Identity: identities(),
  Cast: casts(),
  BiocreditGlobalNorm: globalNorms(),
};

afterAll(async () => {
  await initBackend('wasm');
});

describe('kernel overrides', () => {
  it('every override has a row in this table', () => {
    expect(KERNELS.map((k) => k.kernel).sort()).toEqual(Object.keys(ROWS).sort());
  });

  describe.each(KERNELS.flatMap((k) => k.backends.map((backend) => ({ kernel: k.kernel, backend }))))('$kernel on $backend', ({ kernel, backend }) => {
    it.each((ROWS[kernel] ?? []).map((c) => [c.label, c] as const))('%s: matches the CPU backend', async (_label, c) => {
      const out: number[][] = [];
      for (const b of ['cpu', backend]) {
        await initBackend(parseBackendChoice(b, 'kernel table'));
        out.push(tf.tidy(() => Array.from(c.compute().dataSync())));
      }
      const [cpu, other] = out as [number[], number[]];
      expect(other.length).toBe(cpu.length);
      const scale = Math.max(...cpu.map(Math.abs), 1e-12);
      other.forEach((v, i) => expect(Math.abs(v - cpu[i]!) / scale).toBeLessThan(c.tol));
    });
  });
});
