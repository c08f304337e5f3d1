/**
 * Normalized margin of a network homogeneous of degree L in its weights
 * (gated linear networks without biases): min_i y_i f(x_i) / ‖θ‖^L, with
 * y_i f(x_i) the signed output for two classes (one sigmoid output, labels 0/1
 * read as ∓1) or z_y − max_{k≠y} z_k for several. Under the logistic loss on
 * separable data, gradient descent drives it up towards the max-margin
 * predictor's (Lyu & Li 2020), which `--analyze margin` records over training.
 */
import * as tf from '@tensorflow/tfjs';
import { defineAnalysis } from '../src/analysis/contract.js';
import { disposeBatch } from '../src/data.js';
import { trainableNames } from '../src/params.js';
import type { Model, Params } from '../src/types.js';

/** min_i y_i f(x_i) / ‖θ‖^L for ±1 labels from 0/1 `labels` (binary) or z_y − max_{k≠y} z_k (classes). */
export function normalizedMargin(model: Model, params: Params, x: tf.Tensor, labels: tf.Tensor): { normMargin: number; minMargin: number; paramNorm: number } {
  const degree = model.homogeneity;
  if (degree === undefined) throw new Error(`model ${model.name} is not homogeneous in its weights`);
  const names = trainableNames(model.specs);
  const margin = tf.tidy(() => {
    const z = model.forward(params, x).output as tf.Tensor2D;
    if (z.shape[1] === 1) return tf.min(tf.mul(tf.reshape(z, [-1]), tf.sub(tf.mul(2, tf.cast(labels, 'float32')), 1)));
    const onehot = tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, z.shape[1]!);
    const own = tf.sum(tf.mul(z, onehot), 1);
    const other = tf.max(tf.sub(z, tf.mul(onehot, 1e30)), 1);
    return tf.min(tf.sub(own, other));
  });
  const minMargin = margin.dataSync()[0]!;
  margin.dispose();
  const paramNorm = Math.sqrt(tf.tidy(() => tf.addN(names.map((n) => tf.sum(tf.square(params[n]!)))).dataSync()[0]!));
  return { normMargin: minMargin / paramNorm ** degree, minMargin, paramNorm };
}

export const margin = defineAnalysis({
  name: 'margin',
  key: 'margin',
  description: 'normalized margin min_i y_i f(x_i)/‖θ‖^L over the first --analyze-points training examples (during training; homogeneous models: gln)',
  reference: 'Lyu & Li 2020; Lippl, Abbott, Chung 2022',
  requires: ['homogeneous'],
  measure: (ctx) => {
    const n = Math.min(ctx.points, ctx.dataset.size('train'));
    const b = ctx.dataset.batch('train', Int32Array.from({ length: n }, (_, i) => i));
    try {
      return normalizedMargin(ctx.model, ctx.params, b.x, b.y);
    } finally {
      disposeBatch(b);
    }
  },
});
