/**
 * Fixed random-magnitude sign-concordant feedback (frSF). Liao, Leibo, Poggio
 * 2016; named as in biotorch (Sanfiz & Akrout 2021).
 *
 *   F_l = |M_l| ⊙ sign(W_l),   δ_l = (δ_{l+1} F_{l+1}ᵀ) ⊙ f'(a_l),   ΔW_l = −η h_{l−1}ᵀ δ_l
 *
 * M_l is drawn once from N(0, σ²), σ = feedbackScale · sqrt(2/(fanIn+fanOut)),
 * and kept in the rule state; the signs follow W_l at every step. biotorch
 * LeNet/MNIST test error: frSF 0.97% (BP 0.91%).
 */
import * as tf from '@tensorflow/tfjs';
import { defineRule } from '../src/entries.js';
import type { LayerInfo, LearningRule, RuleState } from '../src/types.js';
import { creditOptions, creditRule, feedbackScaleOption, type CreditOptions } from './common.js';
import { drawFeedback, feedbackAlignment, feedbackOps, type Feedback } from './feedback.js';

export interface RandomSignOptions extends CreditOptions {
  feedbackScale: number;
}

export function createFrsf(opts: RandomSignOptions): LearningRule {
  const key = (layer: LayerInfo) => `${layer.name}/M`;
  const feedback = (state: RuleState): Feedback => ({
    has: (layer) => key(layer) in state.tensors,
    weights: (layer, w) => tf.mul(state.tensors[key(layer)]!, tf.sign(w)),
  });
  return creditRule(
    {
      name: 'frsf',
      init(model, params, rng) {
        const m = drawFeedback(model, params, rng, opts.feedbackScale, key);
        const magnitudes = Object.fromEntries(Object.entries(m).map(([k, t]) => [k, tf.abs(t)]));
        tf.dispose(Object.values(m));
        return magnitudes;
      },
      ops: (ctx) => feedbackOps(ctx.model, feedback(ctx.state)),
      feedbackDiagnostics: (model, params, state) => feedbackAlignment(model, params, feedback(state)),
    },
    opts,
  );
}

export const frsf = defineRule({
  name: 'frsf',
  description: 'fixed random-magnitude sign-concordant feedback: F_l = |M_l|⊙sign(W_l), M_l drawn once',
  reference: 'Liao, Leibo, Poggio 2016, AAAI (biotorch naming)',
  output: 'gradient',
  requires: ['layers'],
  options: [...creditOptions, feedbackScaleOption],
  create: (o) => createFrsf(o),
});
