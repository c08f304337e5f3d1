/**
 * Exact Hessian-vector products by reverse-over-reverse autodiff,
 *   H v = ∇_θ ⟨∇_θ L(θ), v⟩,
 * made correct for tfjs.
 *
 * tfjs 4.22 saves an op's *output* for its gradient as a copy that is not on
 * the tape. Differentiating a gradient that reads such an output (tanh,
 * sigmoid, exp, softmax, and tf.logSoftmax's custom gradient) therefore either
 * throws or silently drops the terms through that output: nested tf.grad is
 * wrong for a tanh network or a softmax cross-entropy. And the backward kernels
 * of conv and pooling layers (Conv2DBackpropFilter, MaxPoolGrad, AvgPoolGrad), and
 * Equal (in max's gradient), have no gradients at all.
 *
 * `withSecondOrderGradients` installs, for the duration of a call, gradients
 * that read the op's input instead (recomputing the output from it), and
 * gradients for the two backward kernels; afterwards it restores the stock
 * ones, so training is unaffected. `softmaxCrossEntropy2` is the softmax
 * cross-entropy written from ops whose gradients are all twice differentiable
 * here. tests/src/hessian.test.ts checks the result against closed-form
 * Hessians and against finite differences on smooth networks.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import type { Batch } from '../types.js';

type GradConfig = tf.GradConfig;

const unary = (kernelName: string, derivative: (x: tf.Tensor, attrs: tf.NamedAttrMap) => tf.Tensor): GradConfig => ({
  kernelName,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => ({ x: () => tf.mul(dy as tf.Tensor, derivative(saved[0]!, attrs)) }),
});

const OVERRIDES: GradConfig[] = [
  // Piecewise constant (the mask in max's gradient): zero derivative.
  { kernelName: 'Equal', inputsToSave: ['a', 'b'], gradFunc: (_dy, saved) => ({ a: () => tf.zerosLike(saved[0]!), b: () => tf.zerosLike(saved[1]!) }) },
  unary('Tanh', (x) => tf.sub(1, tf.square(tf.tanh(x)))),
  unary('Sigmoid', (x) => {
    const s = tf.sigmoid(x);
    return tf.mul(s, tf.sub(1, s));
  }),
  unary('Exp', (x) => tf.exp(x)),
  {
    kernelName: 'Softmax',
    inputsToSave: ['logits'],
    gradFunc: (dy, saved, attrs) => ({
      logits: () => {
        const s = tf.softmax(saved[0]!, (attrs as { dim: number }).dim);
        return tf.mul(s, tf.sub(dy as tf.Tensor, tf.sum(tf.mul(dy as tf.Tensor, s), -1, true)));
      },
    }),
  },
  {
    // dW = Conv2DBackpropFilter(x, dy): linear in x and in dy.
    kernelName: 'Conv2DBackpropFilter',
    inputsToSave: ['x', 'dy'],
    gradFunc: (ddw, saved, attrs) => {
      const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
      const { strides, pad } = attrs as unknown as { strides: [number, number]; pad: 'valid' | 'same' };
      return {
        x: () => tf.conv2dTranspose(dy, ddw as tf.Tensor4D, x.shape, strides, pad),
        dy: () => tf.conv2d(x, ddw as tf.Tensor4D, strides, pad),
      };
    },
  },
  {
    // dx = AvgPoolGrad(dy, x) spreads each window's gradient evenly: linear in
    // dy, and its adjoint is average pooling with the same windows.
    kernelName: 'AvgPoolGrad',
    inputsToSave: ['input'],
    gradFunc: (g, saved, attrs) => {
      const { filterSize, strides, pad } = attrs as unknown as { filterSize: [number, number]; strides: [number, number]; pad: 'valid' | 'same' };
      return { dy: () => tf.avgPool(g as tf.Tensor4D, filterSize, strides, pad), input: () => tf.zerosLike(saved[0]!) };
    },
  },
  {
    // dx = MaxPoolGrad(dy, x, y) routes each window's gradient to its maximum.
    // Its derivative in dy is the adjoint routing; in x and y it is zero almost
    // everywhere. Supported for non-overlapping windows (stride = size).
    kernelName: 'MaxPoolGrad',
    inputsToSave: ['dy', 'input', 'output'],
    gradFunc: (g, saved, attrs) => {
      const [dy, input, output] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const { filterSize, strides } = attrs as unknown as { filterSize: number | [number, number]; strides: number | [number, number] };
      const [kh, kw] = typeof filterSize === 'number' ? [filterSize, filterSize] : filterSize;
      const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
      const [b, , , c] = input.shape;
      if (kh !== sh || kw !== sw) {
        throw new UsageError(`exact Hessian-vector products support max-pooling with stride equal to the window (got window ${kh}×${kw}, stride ${sh}×${sw}); use --hvp fd`);
      }
      const [oh, ow] = [output.shape[1], output.shape[2]];
      return {
        dy: () => {
          // Routing mask from the first-order kernel itself, so ties go where tfjs sends them.
          const mask = tf.engine().runKernel('MaxPoolGrad', { dy: tf.onesLike(dy), input, output }, { ...attrs }) as tf.Tensor4D;
          const routed = tf.slice(tf.mul(g as tf.Tensor4D, mask), [0, 0, 0, 0], [b, oh * kh, ow * kw, c]);
          return tf.sum(tf.reshape(routed, [b, oh, kh, ow, kw, c]), [2, 4]);
        },
        input: () => tf.zerosLike(input),
        output: () => tf.zerosLike(output),
      };
    },
  },
];

/** Runs `fn` with the second-order-safe gradients installed, then restores the stock ones. */
export function withSecondOrderGradients<T>(fn: () => T): T {
  const previous = OVERRIDES.map((o) => tf.getGradient(o.kernelName));
  for (const o of OVERRIDES) tf.registerGradient(o);
  try {
    return fn();
  } finally {
    OVERRIDES.forEach((o, i) => {
      const p = previous[i];
      if (p) tf.registerGradient(p);
      else tf.unregisterGradient(o.kernelName);
    });
  }
}

/**
 * −mean_b log softmax(a_b)[y_b], as a − m − log Σ exp(a − m) with m the row
 * maximum (whose own contribution to every derivative is zero).
 */
export function softmaxCrossEntropy2(output: tf.Tensor, batch: Batch): tf.Scalar {
  return tf.tidy(() => {
    const a = output as tf.Tensor2D;
    const m = tf.max(a, 1, true);
    const shifted = tf.sub(a, m);
    const logp = tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), 1, true)));
    const onehot = tf.oneHot(batch.y as tf.Tensor1D, a.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
  });
}
