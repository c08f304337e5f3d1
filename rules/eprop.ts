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
    let eJ: tf.Tensor = tf.zeros([batch, units]);
    let eIn: tf.Tensor = tf.zeros([batch, inputs]);
    let eB: tf.Tensor = tf.zeros([batch, 1]);
    const dJ: tf.Tensor[] = [];
    const dWin: tf.Tensor[] = [];
    const db: tf.Tensor[] = [];
    const lowPass = (e: tf.Tensor, x: tf.Tensor | number) => tf.add(tf.mul(1 - alpha, e), tf.mul(alpha, x));
    return {
      visit(s) {
        eJ = lowPass(eJ, s.rateIn);
        eIn = lowPass(eIn, s.input);
        eB = lowPass(eB, 1);
        const g = tf.mul(s.signal, s.psi);
        dJ.push(tf.matMul(tf.transpose(eJ), g));
        dWin.push(tf.matMul(tf.transpose(eIn), g));
        db.push(tf.sum(tf.mul(eB, g), 0));
      },
      updates: () => ({ J: tf.addN(dJ), Win: tf.addN(dWin), b: tf.addN(db) }),
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
