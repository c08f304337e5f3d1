/**
 * Batchwise random-magnitude sign-concordant feedback (brSF). Liao, Leibo,
 * Poggio 2016; named as in biotorch (Sanfiz & Akrout 2021).
 *
 *   F_l(t) = |M_l(t)| ⊙ sign(W_l),   δ_l = (δ_{l+1} F_{l+1}ᵀ) ⊙ f'(a_l),   ΔW_l = −η h_{l−1}ᵀ δ_l
 *
 * M_l(t) is redrawn from N(0, σ²) for every batch (σ = feedbackScale ·
 * sqrt(2/(fanIn+fanOut))), from seeds of the rule's stream, so runs stay
 * reproducible and resumable. biotorch LeNet/MNIST test error: brSF 0.91%
 * (BP 0.91%). The diagnostics use the feedback's expectation
 * E|M| ⊙ sign(W) = σ·sqrt(2/π) · sign(W), since every batch draws its own.
 */
import * as tf from '@tensorflow/tfjs';
import { initStd } from '../src/init.js';
import { defineRule } from '../src/entries.js';
import type { LearningRule } from '../src/types.js';
import { creditOptions, creditRule, feedbackScaleOption } from './common.js';
import { feedbackAlignment, feedbackOps, notFirst } from './feedback.js';
import type { RandomSignOptions } from './frsf.js';

export function createBrsf(opts: RandomSignOptions): LearningRule {
  const sigma = (w: tf.Tensor) => initStd('xavier', w.shape, opts.feedbackScale);
  return creditRule(
    {
      name: 'brsf',
      ops: (ctx) =>
        feedbackOps(ctx.model, {
          has: notFirst(ctx.model),
          weights: (_layer, w) => tf.mul(tf.abs(tf.randomNormal(w.shape, 0, sigma(w), 'float32', ctx.rng.tfSeed())), tf.sign(w)),
        }),
      feedbackDiagnostics: (model, params) =>
        feedbackAlignment(model, params, {
          has: notFirst(model),
          weights: (_layer, w) => tf.mul(tf.sign(w), sigma(w) * Math.sqrt(2 / Math.PI)),
        }),
    },
    opts,
  );
}

export const brsf = defineRule({
  name: 'brsf',
  description: 'batchwise random-magnitude sign-concordant feedback: F_l = |M_l|⊙sign(W_l), M_l redrawn per batch',
  reference: 'Liao, Leibo, Poggio 2016, AAAI (biotorch naming)',
  output: 'gradient',
  requires: ['layers'],
  options: [...creditOptions, feedbackScaleOption],
  create: (o) => createBrsf(o),
});
