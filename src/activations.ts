/**
 * Pointwise activations with their derivatives. Local rules need f'(a) from the
 * trace, so each activation provides it in closed form (as a function of the
 * pre-activation a and, where cheaper, the output y = f(a)).
 */
import * as tf from '@tensorflow/tfjs';

export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'softplus', 'linear'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export interface Activation {
  name: ActivationName;
  f(a: tf.Tensor): tf.Tensor;
  /** f'(a), given a and y = f(a). */
  df(a: tf.Tensor, y: tf.Tensor): tf.Tensor;
}

const table: Record<ActivationName, Activation> = {
  relu: {
    name: 'relu',
    f: (a) => tf.relu(a),
    df: (a) => tf.cast(tf.greater(a, 0), 'float32'),
  },
  tanh: {
    name: 'tanh',
    f: (a) => tf.tanh(a),
    df: (_a, y) => tf.sub(1, tf.square(y)),
  },
  sigmoid: {
    name: 'sigmoid',
    f: (a) => tf.sigmoid(a),
    df: (_a, y) => tf.mul(y, tf.sub(1, y)),
  },
  softplus: {
    name: 'softplus',
    f: (a) => tf.softplus(a),
    df: (a) => tf.sigmoid(a),
  },
  linear: {
    name: 'linear',
    f: (a) => a,
    df: (a) => tf.onesLike(a),
  },
};

export function activation(name: ActivationName): Activation {
  return table[name];
}
