/**
 * Losses, each with the gradient of the batch-mean loss with respect to the
 * model output. Rules with an explicit formula (DFA, GEVB, e-prop) broadcast
 * that output error instead of backpropagating through the network.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from './types.js';

export type LossKind = 'softmax-ce' | 'mse';

export interface Loss {
  readonly kind: LossKind;
  /** Mean loss over the batch. */
  value(output: tf.Tensor, batch: Batch): tf.Scalar;
  /** d(mean loss)/d(output), e.g. (softmax(a) − onehot(y)) / B. */
  outputGrad(output: tf.Tensor, batch: Batch): tf.Tensor;
  /** Number of examples in the batch the model gets right (NaN for regression losses). */
  correct(output: tf.Tensor, batch: Batch): tf.Scalar;
}

/** Softmax cross-entropy on integer labels: L = −mean_b log softmax(a_b)[y_b]. */
const softmaxCrossEntropy: Loss = {
  kind: 'softmax-ce',
  value(output, batch) {
    return tf.tidy(() => {
      const logp = tf.logSoftmax(output as tf.Tensor2D);
      const onehot = tf.oneHot(batch.y as tf.Tensor1D, output.shape[1]!);
      return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
    });
  },
  outputGrad(output, batch) {
    return tf.tidy(() => {
      const onehot = tf.oneHot(batch.y as tf.Tensor1D, output.shape[1]!);
      return tf.div(tf.sub(tf.softmax(output as tf.Tensor2D), onehot), output.shape[0]!);
    });
  },
  correct(output, batch) {
    return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(output, 1), tf.cast(batch.y, 'int32')), 'float32')));
  },
};

/** Squared error on real targets shaped like the output: L = mean_b ½‖a_b − y_b‖². */
const meanSquaredError: Loss = {
  kind: 'mse',
  value(output, batch) {
    return tf.tidy(() => tf.mul(0.5, tf.mean(tf.sum(tf.reshape(tf.square(tf.sub(output, batch.y)), [output.shape[0]!, -1]), 1))) as tf.Scalar);
  },
  outputGrad(output, batch) {
    return tf.tidy(() => tf.div(tf.sub(output, batch.y), output.shape[0]!));
  },
  correct() {
    return tf.scalar(NaN);
  },
};

const losses: Record<LossKind, Loss> = { 'softmax-ce': softmaxCrossEntropy, mse: meanSquaredError };

export function lossFor(kind: LossKind): Loss {
  return losses[kind];
}
