/**
 * Feedback alignment. Lillicrap, Cownden, Tweed, Akerman 2016, Nat Commun.
 *
 *   δ_l = (δ_{l+1} F_{l+1}ᵀ) ⊙ f'(a_l),   ΔW_l = −η h_{l−1}ᵀ δ_l
 *
 * (row convention; the paper's B_{l+1} is F_{l+1}ᵀ). Each F_l has the shape of
 * W_l, is drawn once from N(0, σ²) with σ = feedbackScale · sqrt(2/(fanIn+fanOut))
 * (Xavier, as biotorch), and never changes. In conv layers the input gradient is
 * the transposed convolution with F_l in place of the kernel. The paper trained
 * 784-1000-10 tanh nets on MNIST with SGD (reported test error ≈ 2.1% vs BP 2.4%).
 */
import { defineRule } from '../src/entries.js';
import type { LearningRule, RuleState } from '../src/types.js';
import { creditOptions, creditRule, feedbackScaleOption, type CreditOptions } from './common.js';
import { drawFeedback, feedbackAlignment, feedbackOps, type Feedback } from './feedback.js';

export interface FaOptions extends CreditOptions {
  feedbackScale: number;
}

const key = (layer: string) => `${layer}/F`;

function fixedFeedback(state: RuleState): Feedback {
  return { has: (layer) => key(layer.name) in state.tensors, weights: (layer) => state.tensors[key(layer.name)]! };
}

export function createFa(opts: FaOptions): LearningRule {
  return creditRule(
    {
      name: 'fa',
      init: (model, params, rng) => drawFeedback(model, params, rng, opts.feedbackScale, (layer) => key(layer.name)),
      ops: (ctx) => feedbackOps(ctx.model, fixedFeedback(ctx.state)),
      feedbackDiagnostics: (model, params, state) => feedbackAlignment(model, params, fixedFeedback(state)),
    },
    opts,
  );
}

export const fa = defineRule({
  name: 'fa',
  description: 'feedback alignment: errors travel back through fixed random matrices F_l instead of W_lᵀ',
  reference: 'Lillicrap, Cownden, Tweed, Akerman 2016, Nat Commun',
  output: 'gradient',
  requires: ['layers'],
  options: [...creditOptions, feedbackScaleOption],
  create: (o) => createFa(o),
});
