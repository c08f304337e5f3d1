/** Reverse-mode autodiff of a model's loss, optionally through substituted layer ops. */
import * as tf from '@tensorflow/tfjs';
import type { LayerOps } from './ops.js';
import { trainableNames } from './params.js';
import type { ForwardOptions, Params, RuleContext, RuleStep } from './types.js';

/**
 * Loss, output and the gradient of the loss for the model's trainable
 * parameters, computed through `ops` (the exact gradient with the default ops).
 */
export function autodiffStep(ctx: Pick<RuleContext, 'model' | 'params' | 'batch' | 'loss' | 'noise'>, ops?: LayerOps, forward: Omit<ForwardOptions, 'ops'> = {}): RuleStep {
  const names = trainableNames(ctx.model.specs);
  let output: tf.Tensor | null = null;
  const f = (...ws: tf.Tensor[]): tf.Scalar => {
    const p: Params = { ...ctx.params };
    names.forEach((n, i) => (p[n] = ws[i]!));
    const r = ctx.model.forward(p, ctx.batch.x, { training: true, ...forward, ...(ops ? { ops } : {}), ...(ctx.noise ? { rng: ctx.noise } : {}) });
    output = tf.keep(r.output);
    return ctx.loss.value(r.output, ctx.batch);
  };
  const { value, grads } = tf.valueAndGrads(f)(names.map((n) => ctx.params[n]!));
  const updates: Params = {};
  names.forEach((n, i) => (updates[n] = grads[i]!));
  return { updates, loss: value as tf.Scalar, output: output! };
}

/**
 * Angle in degrees between two tensors seen as vectors (NaN if either is zero),
 * as 2·asin(‖â − b̂‖/2), which stays exact for nearly parallel vectors where
 * acos of a float32 cosine would not.
 */
export function angleDegrees(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => {
    const na = tf.norm(a).dataSync()[0]!;
    const nb = tf.norm(b).dataSync()[0]!;
    if (na === 0 || nb === 0) return NaN;
    const chord = tf.norm(tf.sub(tf.div(a, na), tf.div(b, nb))).dataSync()[0]!;
    return (2 * Math.asin(Math.min(1, chord / 2)) * 180) / Math.PI;
  });
}
