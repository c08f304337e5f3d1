/**
 * ModProp (Liu, Smith, Mihalas, Shea-Brown, Sümbül 2022, NeurIPS), notation of
 * rules/temporal.ts. The exact gradient of a recurrent network sums, for every
 * synapse, its eligibility trace times a learning signal that includes credit
 * arriving through other units over any number of steps. ModProp keeps all of
 * those steps but carries the non-local credit through cell-type-specific
 * modulatory signals: in the credit path J is replaced by W_ab, the average of
 * J over the block (presynaptic type a, postsynaptic type b), and f' by a
 * constant μ. Written as the credit δ_t reaching x_t:
 *
 *   δ_t = (dz_{t−1} W_outᵀ) ⊙ f'(x_t)  +  (1 − α) δ_{t+1}  +  α μ δ_{t+1} W_abᵀ
 *   ΔJ ∝ −α Σ_t r_tᵀ δ_{t+1}   (u_t for W_in, 1 for b; the readout by its exact gradient)
 *
 * The first term is e-prop's learning signal (exact f', symmetric readout
 * feedback); the unrolled recursion is the sum over delays s of type-specific
 * filter taps (α μ W_abᵀ + (1 − α) I)^s applied to it, which is how the paper
 * runs it online. Here it is evaluated by the equivalent recursion backwards in
 * time, as the reference implementation does by autodiff. With every unit its
 * own type (W_ab = J) and μ equal to f' (a linear network, μ = 1) it is the
 * exact gradient; with `--cell-types ei` the types are the E/I split of --dale.
 * Reference: Helena-Yuhan-Liu/ModProp (μ = 0.25 for ReLU units).
 */
import * as tf from '@tensorflow/tfjs';
import { rateOf, recurrentOf } from '../src/capabilities.js';
import { defineRule } from '../src/entries.js';
import { UsageError } from '../src/errors.js';
import { option, parse, type OptionsOf } from '../src/options.js';
import type { LearningRule, Params } from '../src/types.js';
import { TEMPORAL_REQUIRES, recurrentUpdates, unroll } from './temporal.js';

export const modpropOptions = [
  option('mu', '--mu <μ>', "constant standing in for f' in the non-local credit path", 0.25, parse.nonNegativeNumber),
  option('cellTypes', '--cell-types <kind>', 'ei (excitatory/inhibitory types from --dale) or each (every unit its own type: W_ab = J)', 'ei' as 'ei' | 'each', parse.choice(['ei', 'each'] as const)),
];

export type ModpropOptions = OptionsOf<typeof modpropOptions>;

/** Cell type of every unit from its presynaptic sign: 0 for excitatory, 1 for inhibitory. */
function typesOf(signs: Float32Array): Int32Array {
  return Int32Array.from(signs, (s) => (s > 0 ? 0 : 1));
}

/**
 * W_ab: J with every (presynaptic type a, postsynaptic type b) block replaced by
 * its mean (masked entries count as zero connections, as in the reference).
 */
export function blockAverage(J: tf.Tensor2D, types: Int32Array): tf.Tensor2D {
  return tf.tidy(() => {
    const k = Math.max(...types) + 1;
    const onehot = tf.oneHot(tf.tensor1d(types, 'int32'), k).toFloat() as tf.Tensor2D; // [N, k]
    const counts = tf.sum(onehot, 0, true) as tf.Tensor2D; // [1, k]
    const sums = tf.matMul(tf.matMul(onehot, J, true, false), onehot); // [k, k]
    const means = tf.div(sums, tf.matMul(counts, counts, true, false));
    return tf.matMul(tf.matMul(onehot, means), onehot, false, true) as tf.Tensor2D;
  });
}

export function createModprop(opts: ModpropOptions): LearningRule {
  return {
    check(model) {
      if (opts.cellTypes === 'ei' && rateOf(model).signs.every((s) => s > 0)) {
        throw new UsageError('rule modprop needs cell types: give the network an E/I split (--dale 0.8), or use --cell-types each (every unit its own type)');
      }
    },
    init: () => ({ tensors: {} }),
    step(ctx) {
      const run = unroll(ctx);
      const { states, rates, inputs, dz, rate } = run;
      const { roles } = recurrentOf(ctx.model);
      const f = rate.activation;
      const alpha = rate.alpha;
      const recurrent = ctx.params[roles.recurrent]!;
      const J = (roles.mask ? tf.mul(recurrent, ctx.params[roles.mask]!) : recurrent) as tf.Tensor2D;
      const Wab = opts.cellTypes === 'each' ? J : blockAverage(J, typesOf(rate.signs));
      const carryW = tf.transpose(tf.mul(alpha * opts.mu, Wab)) as tf.Tensor2D;
      const WoutT = tf.transpose(ctx.params[roles.readout]!) as tf.Tensor2D;
      const T = dz.length;
      const dJ: tf.Tensor[] = [];
      const dWin: tf.Tensor[] = [];
      const db: tf.Tensor[] = [];
      let delta: tf.Tensor2D | null = null; // δ_{t+2} on entry of step t
      for (let t = T - 1; t >= 0; t--) {
        let d = tf.mul(tf.matMul(dz[t]!, WoutT), f.df(states[t + 1]!, rates[t + 1]!)) as tf.Tensor2D;
        if (delta) d = tf.add(d, tf.add(tf.mul(1 - alpha, delta), tf.matMul(delta, carryW))) as tf.Tensor2D;
        delta = d; // δ_{t+1}
        dJ.push(tf.matMul(rates[t]!, delta, true, false));
        dWin.push(tf.matMul(inputs[t]!, delta, true, false));
        db.push(tf.sum(delta, 0));
      }
      const updates: Params = {
        ...run.readout,
        ...recurrentUpdates(ctx.model, ctx.params, roles, { J: tf.mul(alpha, tf.addN(dJ)), Win: tf.mul(alpha, tf.addN(dWin)), b: tf.mul(alpha, tf.addN(db)) }),
      };
      if (roles.initialState && delta) {
        updates[roles.initialState] = tf.sum(tf.add(tf.mul(1 - alpha, delta), tf.matMul(delta, carryW)), 0);
      }
      return { loss: run.loss, output: run.output, updates };
    },
  };
}

export const modprop = defineRule({
  name: 'modprop',
  description: "ModProp: e-prop's signal plus non-local credit over all delays through cell-type-averaged weights W_ab and a constant f′ = μ",
  reference: 'Liu, Smith, Mihalas, Shea-Brown, Sümbül 2022, NeurIPS',
  output: 'gradient',
  requires: TEMPORAL_REQUIRES,
  options: modpropOptions,
  create: (o) => createModprop(o),
});
