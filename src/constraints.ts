/** Parameter constraints, kept by the projection step the trainer runs after every update. */
import * as tf from '@tensorflow/tfjs';
import type { Constraint } from './types.js';

/** W ≥ 0 (vectorized nonnegative nets, Dale's-law magnitudes). */
export function nonnegative(): Constraint {
  return {
    name: 'nonnegative',
    project: (w) => tf.relu(w),
    violations: (w) => tf.tidy(() => tf.sum(tf.cast(tf.less(w, 0), 'int32')).dataSync()[0]!),
  };
}
