/**
 * Losses, each with the gradient of the batch-mean loss with respect to the
 * model output. Rules with an explicit formula (DFA, GEVB, e-prop) broadcast
 * that output error instead of backpropagating through the network.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch, Loss, LossKind } from './types.js';

/** Mean over every axis but the first (the population axis) of per-example terms [P, B, …]. */
function memberMeans(terms: tf.Tensor): tf.Tensor1D {
  return tf.mean(tf.reshape(terms, [terms.shape[0]!, -1]), 1) as tf.Tensor1D;
}

/** Σ m·terms / Σ m per member, for masked per-step terms [P, B, T] and a mask [B, T]. */
function maskedMemberMeans(terms: tf.Tensor, mask: tf.Tensor): tf.Tensor1D {
  const p = terms.shape[0]!;
  return tf.div(tf.sum(tf.reshape(tf.mul(terms, mask), [p, -1]), 1), tf.maximum(tf.sum(mask), 1)) as tf.Tensor1D;
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
  values(outputs, batch) {
    return tf.tidy(() => {
      const onehot = tf.oneHot(batch.y as tf.Tensor1D, outputs.shape[2]!);
      return memberMeans(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(outputs)), -1)));
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

/**
 * Sigmoid + binary cross-entropy on 0/1 labels with one output z (a logit):
 * L = mean_b log(1 + exp(−s_b z_b)), s = 2y − 1, written as relu(−m) + log(1 + exp(−|m|))
 * (m = s z) so it is stable and twice differentiable. dL/dz = (σ(z) − y)/B.
 * An example is correct when z > 0 exactly for y = 1.
 */
const sigmoidCrossEntropy: Loss = {
  kind: 'sigmoid-bce',
  value(output, batch) {
    return tf.tidy(() => {
      const m = tf.mul(tf.reshape(output, [-1]), tf.sub(tf.mul(2, tf.cast(batch.y, 'float32')), 1));
      return tf.mean(tf.add(tf.relu(tf.neg(m)), tf.log(tf.add(1, tf.exp(tf.neg(tf.abs(m))))))) as tf.Scalar;
    });
  },
  values(outputs, batch) {
    return tf.tidy(() => {
      const m = tf.mul(tf.reshape(outputs, [outputs.shape[0]!, -1]), tf.sub(tf.mul(2, tf.cast(batch.y, 'float32')), 1));
      return memberMeans(tf.add(tf.relu(tf.neg(m)), tf.log(tf.add(1, tf.exp(tf.neg(tf.abs(m)))))));
    });
  },
  outputGrad(output, batch) {
    return tf.tidy(() => tf.div(tf.sub(tf.sigmoid(output), tf.reshape(tf.cast(batch.y, 'float32'), output.shape)), output.shape[0]!));
  },
  correct(output, batch) {
    return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.cast(tf.greater(tf.reshape(output, [-1]), 0), 'int32'), tf.cast(batch.y, 'int32')), 'float32')) as tf.Scalar);
  },
};

/**
 * Squared error on real targets shaped like the output, averaged over the
 * examples (and over the time steps the batch's mask selects, for sequences
 * [B, T, K] with mask [B, T]): L = Σ m ½‖a − y‖² / Σ m.
 */
function squaredError(output: tf.Tensor, batch: Batch): tf.Scalar {
  return tf.tidy(() => {
    const perStep = tf.mul(0.5, tf.sum(tf.square(tf.sub(output, batch.y)), -1));
    if (!batch.mask) return tf.mean(perStep) as tf.Scalar;
    return tf.div(tf.sum(tf.mul(perStep, batch.mask)), tf.maximum(tf.sum(batch.mask), 1)) as tf.Scalar;
  });
}

function squaredErrors(outputs: tf.Tensor, batch: Batch): tf.Tensor1D {
  return tf.tidy(() => {
    const perStep = tf.mul(0.5, tf.sum(tf.square(tf.sub(outputs, batch.y)), -1));
    return batch.mask ? maskedMemberMeans(perStep, batch.mask) : memberMeans(perStep);
  });
}

function squaredErrorGrad(output: tf.Tensor, batch: Batch): tf.Tensor {
  return tf.tidy(() => {
    const diff = tf.sub(output, batch.y);
    if (!batch.mask) return tf.div(diff, perStepCount(output));
    return tf.div(tf.mul(diff, tf.expandDims(batch.mask, -1)), tf.maximum(tf.sum(batch.mask), 1));
  });
}

/** Number of per-step terms the unmasked mean runs over (all axes but the last). */
function perStepCount(output: tf.Tensor): number {
  return output.shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

const meanSquaredError: Loss = {
  kind: 'mse',
  value: squaredError,
  values: squaredErrors,
  outputGrad: squaredErrorGrad,
  correct() {
    return tf.scalar(NaN);
  },
};

/**
 * Squared error for decision tasks whose target is ±1 during the response and
 * 0 elsewhere: an example is correct when the mean output over its masked
 * response steps (|y| > 0.5) has the sign of the target there.
 */
const decisionSquaredError: Loss = {
  kind: 'mse-decision',
  value: squaredError,
  values: squaredErrors,
  outputGrad: squaredErrorGrad,
  correct(output, batch) {
    return tf.tidy(() => {
      const z = tf.sum(output, -1);
      const y = tf.sum(batch.y, -1);
      let w = tf.cast(tf.greater(tf.abs(y), 0.5), 'float32');
      if (batch.mask) w = tf.mul(w, batch.mask);
      const axes = z.shape.length > 1 ? z.shape.slice(1).map((_, i) => i + 1) : [0];
      const zMean = tf.sum(tf.mul(z, w), axes);
      const yMean = tf.sum(tf.mul(y, w), axes);
      return tf.sum(tf.cast(tf.logicalAnd(tf.greater(tf.abs(yMean), 0), tf.equal(tf.sign(zMean), tf.sign(yMean))), 'float32')) as tf.Scalar;
    });
  },
};

/**
 * Softmax cross-entropy for sequences that answer with a class at some steps
 * (sequential MNIST: the last one): outputs [B, T, K] are logits, targets one-hot
 * where the mask is 1, L = −Σ_{b,t} m_bt Σ_k y_btk log softmax(z_bt)_k / Σ m.
 * Written with exp/log around the row maximum (no logSoftmax), so the Hessian
 * analyses can differentiate it twice. An example is correct when the argmax
 * of its logits summed over the masked steps is its class.
 */
const sequenceCrossEntropy: Loss = {
  kind: 'sequence-ce',
  value(output, batch) {
    return tf.tidy(() => {
      const shifted = tf.sub(output, tf.max(output, -1, true));
      const logp = tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), -1, true)));
      const perStep = tf.neg(tf.sum(tf.mul(batch.y, logp), -1));
      const m = batch.mask ?? tf.onesLike(perStep);
      return tf.div(tf.sum(tf.mul(perStep, m)), tf.maximum(tf.sum(m), 1)) as tf.Scalar;
    });
  },
  values(outputs, batch) {
    return tf.tidy(() => {
      const shifted = tf.sub(outputs, tf.max(outputs, -1, true));
      const logp = tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), -1, true)));
      const perStep = tf.neg(tf.sum(tf.mul(batch.y, logp), -1));
      return maskedMemberMeans(perStep, batch.mask ?? tf.ones(perStep.shape.slice(1)));
    });
  },
  outputGrad(output, batch) {
    return tf.tidy(() => {
      const m = batch.mask ?? tf.ones(output.shape.slice(0, -1));
      const diff = tf.sub(tf.softmax(output), batch.y);
      return tf.div(tf.mul(diff, tf.expandDims(m, -1)), tf.maximum(tf.sum(m), 1));
    });
  },
  correct(output, batch) {
    return tf.tidy(() => {
      const m = tf.expandDims(batch.mask ?? tf.ones(output.shape.slice(0, -1)), -1);
      const z = tf.sum(tf.mul(output, m), 1);
      const y = tf.sum(tf.mul(batch.y, m), 1);
      return tf.sum(tf.cast(tf.equal(tf.argMax(z, -1), tf.argMax(y, -1)), 'float32')) as tf.Scalar;
    });
  },
};

/**
 * Mean absolute error on real targets shaped like the output: L = Σ m mean_k |a_k − y_k| / Σ m
 * over the examples (and masked steps). Its gradient is sign(a − y) over the count; its
 * second derivative is 0 almost everywhere, so curvature analyses say little about it.
 */
function absoluteTerms(outputs: tf.Tensor, batch: Batch): tf.Tensor {
  return tf.mean(tf.abs(tf.sub(outputs, batch.y)), -1);
}

const meanAbsoluteError: Loss = {
  kind: 'mae',
  value(output, batch) {
    return tf.tidy(() => {
      const perStep = absoluteTerms(output, batch);
      if (!batch.mask) return tf.mean(perStep) as tf.Scalar;
      return tf.div(tf.sum(tf.mul(perStep, batch.mask)), tf.maximum(tf.sum(batch.mask), 1)) as tf.Scalar;
    });
  },
  values(outputs, batch) {
    return tf.tidy(() => {
      const perStep = absoluteTerms(outputs, batch);
      return batch.mask ? maskedMemberMeans(perStep, batch.mask) : memberMeans(perStep);
    });
  },
  outputGrad(output, batch) {
    return tf.tidy(() => {
      const k = output.shape.at(-1)!;
      const sign = tf.sign(tf.sub(output, batch.y));
      if (!batch.mask) return tf.div(sign, perStepCount(output) * k);
      return tf.div(tf.mul(sign, tf.expandDims(batch.mask, -1)), tf.mul(tf.maximum(tf.sum(batch.mask), 1), k));
    });
  },
  correct() {
    return tf.scalar(NaN);
  },
};

/** Losses on real-valued targets: evaluated by normalized and absolute error, not accuracy. */
export const isRegression = (kind: LossKind) => kind === 'mse' || kind === 'mae';

const losses: Record<LossKind, Loss> = {
  'softmax-ce': softmaxCrossEntropy,
  'sigmoid-bce': sigmoidCrossEntropy,
  mse: meanSquaredError,
  'mse-decision': decisionSquaredError,
  'sequence-ce': sequenceCrossEntropy,
  mae: meanAbsoluteError,
};

export function lossFor(kind: LossKind): Loss {
  return losses[kind];
}
