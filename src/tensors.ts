/** Small pure helpers over maps of tensors (Params and anything shaped like them). */
import * as tf from '@tensorflow/tfjs';
import { nativeGlobalNorm } from './kernels/global-norm.js';
import type { Params } from './types.js';

/** sqrt(Σ_k ‖m_k‖²) as a scalar tensor. */
export function globalNorm(m: Params): tf.Scalar {
  const native = nativeGlobalNorm(Object.values(m));
  if (native) return native;
  return tf.tidy(() => {
    const squares = Object.values(m).map((t) => tf.sum(tf.square(t)));
    return (squares.length ? tf.sqrt(tf.addN(squares)) : tf.scalar(0)) as tf.Scalar;
  });
}

export function countParams(specs: Readonly<Record<string, { shape: number[] }>>): number {
  return Object.values(specs).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** A tensor with a name, as tfjs optimizers and the weights format list them. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/**
 * tf.tidy for functions that return a structured object (maps, nested records):
 * every tensor reachable from the result survives, all others are disposed.
 */
export function tidyObject<T>(fn: () => T): T {
  return tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as T;
}
