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
 * Reference: murray-lab/rflo-learning (50 units, τ = 10 steps, lr 0.03).
 */
import * as tf from '@tensorflow/tfjs';
import { defineRule } from '../src/entries.js';
import { scanStep } from '../src/scan.js';
import type { LearningRule } from '../src/types.js';
import { TEMPORAL_REQUIRES, feedbackOption, onlineFeedbackScaleOption, onlineRule, type OnlineOptions } from './temporal.js';

export function createRflo(opts: OnlineOptions): LearningRule {
  return onlineRule(opts, ({ alpha }, { units: n, inputs, batch }) => {
    // Traces and running sums, carried by the per-step scan: memory stays at a few [B, N, N]
    // tensors however long the trial (each step's products are freed at once).
    let st: Record<'pJ' | 'pIn' | 'pB' | 'dJ' | 'dWin' | 'db', tf.Tensor> = {
      pJ: tf.zeros([batch, n, n]),
      pIn: tf.zeros([batch, inputs, n]),
      pB: tf.zeros([batch, n]),
      dJ: tf.zeros([n, n]),
      dWin: tf.zeros([inputs, n]),
      db: tf.zeros([n]),
    };
    const lowPass = (p: tf.Tensor, x: tf.Tensor) => tf.add(tf.mul(1 - alpha, p), tf.mul(alpha, x));
    return {
      visit(s) {
        st = scanStep(st, (c) => {
          const post = tf.expandDims(s.psi, 1);
          const pJ = lowPass(c.pJ, tf.mul(tf.expandDims(s.rateIn, 2), post));
          const pIn = lowPass(c.pIn, tf.mul(tf.expandDims(s.input, 2), post));
          const pB = lowPass(c.pB, s.psi);
          const signal = tf.expandDims(s.signal, 1);
          return {
            pJ,
            pIn,
            pB,
            dJ: tf.add(c.dJ, tf.sum(tf.mul(pJ, signal), 0)),
            dWin: tf.add(c.dWin, tf.sum(tf.mul(pIn, signal), 0)),
            db: tf.add(c.db, tf.sum(tf.mul(pB, s.signal), 0)),
          };
        });
      },
      updates() {
        tf.dispose([st.pJ, st.pIn, st.pB]);
        return { J: st.dJ, Win: st.dWin, b: st.db };
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
