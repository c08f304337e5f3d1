/**
 * e-prop for rate networks (Bellec et al. 2020, Nat Commun), notation of
 * rules/temporal.ts. Each synapse's eligibility trace factorises into a
 * presynaptic low-pass and the postsynaptic derivative:
 *
 *   ε_t = (1 − α) ε_{t−1} + α r_t          (for J; u_t for W_in, 1 for b)
 *   e_t[j, i] = ψ_t[i] ε_t[j],   ΔJ ∝ −Σ_t Σ_batch ε_tᵀ (L_t ⊙ ψ_t)
 *
 * so it costs O(N) memory per example, not O(N²). With symmetric feedback it is
 * the exact gradient of a network whose recurrent weights carry no credit (the
 * terms through J·f' in later steps are dropped): with J = 0 it equals BPTT.
 * Reference: IGITUGraz/eligibility_propagation.
 */
import * as tf from '@tensorflow/tfjs';
import { defineRule } from '../src/entries.js';
import type { LearningRule } from '../src/types.js';
import { TEMPORAL_REQUIRES, feedbackOption, onlineFeedbackScaleOption, onlineRule, type OnlineOptions } from './temporal.js';

export function createEprop(opts: OnlineOptions): LearningRule {
  return onlineRule(opts, ({ alpha }, { units, inputs, batch }) => {
    let eJ: tf.Tensor2D = tf.zeros([batch, units]);
    let eIn: tf.Tensor2D = tf.zeros([batch, inputs]);
    let eB = 0;
    // Per step only the traces and L ⊙ ψ (and ε_B, the same for every example); the sums over
    // time are one matmul over the stacked steps.
    const traceJ: tf.Tensor2D[] = [];
    const traceIn: tf.Tensor2D[] = [];
    const g: tf.Tensor2D[] = [];
    let db: tf.Tensor | null = null;
    const lowPass = (e: tf.Tensor2D, x: tf.Tensor2D) => tf.add(tf.mul(1 - alpha, e), tf.mul(alpha, x)) as tf.Tensor2D;
    return {
      visit(s) {
        eJ = lowPass(eJ, s.rateIn);
        eIn = lowPass(eIn, s.input);
        eB = (1 - alpha) * eB + alpha;
        const gt = tf.mul(s.signal, s.psi) as tf.Tensor2D;
        traceJ.push(eJ);
        traceIn.push(eIn);
        g.push(gt);
        const dbt = tf.mul(eB, tf.sum(gt, 0));
        db = db ? tf.add(db, dbt) : dbt;
      },
      updates() {
        const G = tf.concat(g, 0);
        return { J: tf.matMul(tf.concat(traceJ, 0), G, true, false), Win: tf.matMul(tf.concat(traceIn, 0), G, true, false), b: db ?? tf.zeros([units]) };
      },
    };
  });
}

export const eprop = defineRule({
  name: 'eprop',
  description: 'e-prop: presynaptic eligibility traces × postsynaptic f′ × a broadcast learning signal (online, no backward pass in time)',
  reference: 'Bellec et al. 2020, Nat Commun',
  output: 'gradient',
  requires: TEMPORAL_REQUIRES,
  options: [feedbackOption('symmetric'), onlineFeedbackScaleOption],
  create: (o) => createEprop(o),
});
