/**
 * The layer operations a model routes its forward pass through. Backprop uses
 * them as they are; rules that change the backward pathway supply their own:
 * feedback alignment and sign-symmetry replace the transposed weights of dense
 * and convolutional layers (`dense`, `conv2d`), direct feedback alignment
 * replaces the error arriving at each hidden layer's output (`hidden`, after
 * capturing the output error at `output`). The forward values never change.
 */
import * as tf from '@tensorflow/tfjs';

export type Padding = 'same' | 'valid';

export interface LayerOps {
  /** y = x W for dense layer `layer` (x [B, fanIn], W [fanIn, fanOut]). */
  dense(layer: string, x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D;
  /** y = conv2d(x, K) for convolutional layer `layer` (NHWC, K [kh, kw, in, out]). */
  conv2d(layer: string, x: tf.Tensor4D, k: tf.Tensor4D, stride: number, pad: Padding): tf.Tensor4D;
  /** Identity on hidden layer `layer`'s output h_l = f(a_l). */
  hidden(layer: string, h: tf.Tensor): tf.Tensor;
  /** Identity on the model output. */
  output(y: tf.Tensor): tf.Tensor;
}

type GradResult = { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** tf.customGrad with the inputs as an array and the save function apart. */
function customOp(arity: number, fn: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => GradResult): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) =>
    fn(args.slice(0, arity) as tf.Tensor[], args[arity] as tf.GradSaveFunc)) as unknown as Parameters<typeof tf.customGrad>[0]);
}

/** The identity with a zero gradient (tfjs has no stopGradient); for truncating credit in time. */
export const stopGradient = customOp(1, ([x]) => ({ value: tf.clone(x!), gradFunc: (dy) => [tf.zerosLike(dy)] }));

export const plainOps: LayerOps = {
  dense: (_layer, x, w) => tf.matMul(x, w),
  conv2d: (_layer, x, k, stride, pad) => tf.conv2d(x, k, stride, pad),
  hidden: (_layer, h) => h,
  output: (y) => y,
};

/**
 * y = x W whose backward pass sends dx = dy Fᵀ (F has the shape of W) instead of
 * dy Wᵀ; the weight gradient xᵀ dy is the true one. `f` is called in the backward
 * pass, so feedback built from the current weights lives only as long as needed.
 */
export function denseWithFeedback(x: tf.Tensor2D, w: tf.Tensor2D, f: () => tf.Tensor): tf.Tensor2D {
  const op = customOp(2, ([xi, wi], save) => {
    save([xi!]);
    return {
      value: tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.matMul(dy as tf.Tensor2D, f() as tf.Tensor2D, false, true),
        tf.matMul(saved[0] as tf.Tensor2D, dy as tf.Tensor2D, true, false),
      ],
    };
  });
  return op(x, w) as tf.Tensor2D;
}

/** ∂L/∂K of y = conv2d(x, K) given dy, through the backend's Conv2DBackpropFilter kernel. */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], stride: number, pad: Padding): tf.Tensor4D {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: [stride, stride],
    pad,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    filterShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * conv2d(x, K) whose backward pass sends the input gradient through the
 * transposed convolution with feedback kernel F (shape of K) instead of K; the
 * filter gradient is the true one.
 */
export function conv2dWithFeedback(x: tf.Tensor4D, k: tf.Tensor4D, f: () => tf.Tensor, stride: number, pad: Padding): tf.Tensor4D {
  const op = customOp(2, ([xi, ki], save) => {
    save([xi!]);
    return {
      value: tf.conv2d(xi as tf.Tensor4D, ki as tf.Tensor4D, stride, pad),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const xs = saved[0] as tf.Tensor4D;
        return [
          tf.conv2dTranspose(dy as tf.Tensor4D, f() as tf.Tensor4D, xs.shape, stride, pad),
          conv2dFilterGrad(xs, dy as tf.Tensor4D, k.shape, stride, pad),
        ];
      },
    };
  });
  return op(x, k) as tf.Tensor4D;
}

/** Identity whose backward pass discards the incoming gradient and sends `grad()` instead. */
export function withGradient(h: tf.Tensor, grad: () => tf.Tensor): tf.Tensor {
  const op = customOp(1, ([hi]) => ({
    value: tf.clone(hi!),
    gradFunc: () => [grad()],
  }));
  return op(h);
}

/** Identity that hands the gradient arriving at it to `capture` and passes it on unchanged. */
export function capturingGradient(y: tf.Tensor, capture: (dy: tf.Tensor) => void): tf.Tensor {
  const op = customOp(1, ([yi]) => ({
    value: tf.clone(yi!),
    gradFunc: (dy: tf.Tensor) => {
      capture(dy);
      return [tf.clone(dy)];
    },
  }));
  return op(y);
}
