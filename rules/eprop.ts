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
import type { LearningRule, Params } from '../src/types.js';
import { asRnn, initFeedback, runTemporal, untouched, type FeedbackKind } from './temporal.js';

export function createEprop(opts: { feedback: FeedbackKind }): LearningRule {
  return {
    name: 'eprop',
    mode: 'gradient',
    init: (model, _params, rng) => ({ tensors: initFeedback(model, rng, opts.feedback, 'eprop') }),
    step(ctx) {
      const model = asRnn(ctx.model, 'eprop');
      const alpha = model.alpha;
      const [bsz] = ctx.batch.x.shape as [number];
      let eJ = tf.zeros([bsz, model.units]) as tf.Tensor2D;
      let eIn = tf.zeros([bsz, ctx.batch.x.shape[2]!]) as tf.Tensor2D;
      let eB = tf.zeros([bsz, 1]) as tf.Tensor2D;
      const dJ: tf.Tensor[] = [];
      const dWin: tf.Tensor[] = [];
      const db: tf.Tensor[] = [];
      const run = runTemporal(ctx, opts.feedback, 'eprop', (s) => {
        eJ = tf.add(tf.mul(1 - alpha, eJ), tf.mul(alpha, s.rateIn)) as tf.Tensor2D;
        eIn = tf.add(tf.mul(1 - alpha, eIn), tf.mul(alpha, s.input)) as tf.Tensor2D;
        eB = tf.add(tf.mul(1 - alpha, eB), alpha) as tf.Tensor2D;
        const g = tf.mul(s.signal, s.psi) as tf.Tensor2D;
        dJ.push(tf.matMul(tf.transpose(eJ), g));
        dWin.push(tf.matMul(tf.transpose(eIn), g));
        db.push(tf.sum(tf.mul(eB, g), 0));
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
