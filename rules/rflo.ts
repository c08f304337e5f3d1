/**
 * Random-feedback local online learning (Murray 2019, eLife), notation of
 * rules/temporal.ts. Each synapse keeps a trace that low-pass filters the
 * product of the postsynaptic derivative and the presynaptic rate:
 *
 *   p_t[j, i] = (1 − α) p_{t−1}[j, i] + α ψ_t[i] r_t[j]     (u_t for W_in, 1 for b)
 *   ΔJ[j, i] ∝ −Σ_t Σ_batch L_t[i] p_t[j, i]
 *
 * with random feedback B by default (Murray's setting). Unlike e-prop, ψ sits
 * inside the filter, so the trace is O(N²) per example. With a linear
 * activation and J = 0 (and symmetric feedback) it equals the exact gradient.
 *
 * Computed without the trace: unrolling p_t and exchanging the sums,
 *
 *   ΔJ = Σ_s r_sᵀ G_s,   G_s = α ψ_s ⊙ Λ_s,   Λ_s = L_s + (1 − α) Λ_{s+1},  Λ_T = 0,
 *
 * the learning signal filtered backwards in time, then one matmul over the
 * stacked steps (u_s for W_in, Σ G for b). Exactly the sum above, at O(N) memory
 * per example and step instead of an [B, N, N] trace pushed through every step;
 * tests/rules/eprop-rflo.test.ts checks it against the per-step recursion.
 * Reference: murray-lab/rflo-learning (50 units, τ = 10 steps, lr 0.03).
 */
import * as tf from '@tensorflow/tfjs';
import { defineRule } from '../src/entries.js';
import type { LearningRule } from '../src/types.js';
import { TEMPORAL_REQUIRES, feedbackOption, onlineFeedbackScaleOption, onlineRule, type OnlineOptions, type StepView } from './temporal.js';

export function createRflo(opts: OnlineOptions): LearningRule {
  return onlineRule(opts, ({ alpha }) => {
    const steps: StepView[] = [];
    return {
      visit: (s) => steps.push(s),
      updates() {
        const G: tf.Tensor2D[] = new Array<tf.Tensor2D>(steps.length);
        let lambda: tf.Tensor2D | null = null;
        for (let t = steps.length - 1; t >= 0; t--) {
          const { signal, psi } = steps[t]!;
          lambda = lambda ? (tf.add(signal, tf.mul(1 - alpha, lambda)) as tf.Tensor2D) : signal;
          G[t] = tf.mul(alpha, tf.mul(psi, lambda)) as tf.Tensor2D;
        }
        const g = tf.concat(G, 0);
        return {
          J: tf.matMul(tf.concat(steps.map((s) => s.rateIn), 0), g, true, false),
          Win: tf.matMul(tf.concat(steps.map((s) => s.input), 0), g, true, false),
          b: tf.sum(g, 0),
        };
      },
    };
  });
}

export const rflo = defineRule({
  name: 'rflo',
  description: 'random-feedback local online learning: low-pass traces of f′·r × random-feedback error',
  reference: 'Murray 2019, eLife',
  output: 'gradient',
  requires: TEMPORAL_REQUIRES,
  options: [feedbackOption('random'), onlineFeedbackScaleOption],
  create: (o) => createRflo(o),
});
