/**
 * Backpropagation: the exact gradient by reverse-mode autodiff.
 *
 *   δ_L = ∂L/∂a_L,   δ_l = (δ_{l+1} W_{l+1}ᵀ) ⊙ f'(a_l),   ∂L/∂W_l = h_{l-1}ᵀ δ_l
 *
 * (row convention of src/types.ts). Rumelhart, Hinton, Williams 1986. Works on
 * every model, and is the reference every other rule is measured against.
 */
import * as tf from '@tensorflow/tfjs';
import { trainableNames } from '../src/params.js';
import type { LearningRule, Params, RuleContext, RuleStep } from '../src/types.js';

/** Loss, output and exact gradient of the loss for the model's trainable parameters. */
export function exactGradient(ctx: Pick<RuleContext, 'model' | 'params' | 'batch' | 'loss'>): RuleStep {
  const names = trainableNames(ctx.model.specs);
  let output: tf.Tensor | null = null;
  const f = (...ws: tf.Tensor[]): tf.Scalar => {
    const p: Params = { ...ctx.params };
    names.forEach((n, i) => (p[n] = ws[i]!));
    const r = ctx.model.forward(p, ctx.batch.x, { training: true });
    output = tf.keep(r.output);
    return ctx.loss.value(r.output, ctx.batch);
  };
  const { value, grads } = tf.valueAndGrads(f)(names.map((n) => ctx.params[n]!));
  const updates: Params = {};
  names.forEach((n, i) => (updates[n] = grads[i]!));
  return { updates, loss: value as tf.Scalar, output: output! };
}

export function createBackprop(): LearningRule {
  return {
    name: 'bp',
    mode: 'gradient',
    init: () => ({ tensors: {} }),
    step: (ctx) => exactGradient(ctx),
  };
}
