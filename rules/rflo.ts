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
import type { LearningRule, Params } from '../src/types.js';
import { asRnn, initFeedback, runTemporal, untouched, type FeedbackKind } from './temporal.js';

export function createRflo(opts: { feedback: FeedbackKind }): LearningRule {
  return {
    name: 'rflo',
    mode: 'gradient',
    init: (model, _params, rng) => ({ tensors: initFeedback(model, rng, opts.feedback, 'rflo') }),
    step(ctx) {
      const model = asRnn(ctx.model, 'rflo');
      const alpha = model.alpha;
      const [bsz, , nIn] = ctx.batch.x.shape as [number, number, number];
      const n = model.units;
      let pJ = tf.zeros([bsz, n, n]) as tf.Tensor3D;
      let pIn = tf.zeros([bsz, nIn, n]) as tf.Tensor3D;
      let pB = tf.zeros([bsz, n]) as tf.Tensor2D;
      const dJ: tf.Tensor[] = [];
      const dWin: tf.Tensor[] = [];
      const db: tf.Tensor[] = [];
      const run = runTemporal(ctx, opts.feedback, 'rflo', (s) => {
        const post = tf.expandDims(s.psi, 1);
        pJ = tf.add(tf.mul(1 - alpha, pJ), tf.mul(alpha, tf.mul(tf.expandDims(s.rateIn, 2), post))) as tf.Tensor3D;
        pIn = tf.add(tf.mul(1 - alpha, pIn), tf.mul(alpha, tf.mul(tf.expandDims(s.input, 2), post))) as tf.Tensor3D;
        pB = tf.add(tf.mul(1 - alpha, pB), tf.mul(alpha, s.psi)) as tf.Tensor2D;
        const signal = tf.expandDims(s.signal, 1);
        dJ.push(tf.sum(tf.mul(pJ, signal), 0));
        dWin.push(tf.sum(tf.mul(pIn, signal), 0));
        db.push(tf.sum(tf.mul(pB, s.signal), 0));
      });
      const updates: Params = {
        ...run.readout,
        'rnn/J': tf.mul(tf.addN(dJ), ctx.params['rnn/mask']!),
        'rnn/Win': tf.addN(dWin),
        'rnn/b': tf.addN(db),
      };
      return { loss: run.loss, output: run.output, updates: untouched(ctx.model, ctx.params, updates) };
    },
  };
}
