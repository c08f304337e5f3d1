/**
 * Global error-vector broadcasting (Clark, Abbott, Chung 2021, NeurIPS), for
 * vectorized nonnegative networks (models/vnn.ts). The output error vector
 * e = ∂L/∂z = (softmax(z) − onehot(y)) / B is broadcast unchanged to every
 * hidden unit; a unit that passed its vector (gate m_bi = 1) takes it as its
 * credit, so for a weight from unit j to unit i
 *
 *   ΔW_ji ∝ −Σ_b m_bi ⟨h_bj, e_b⟩,        Δb_ki ∝ −Σ_b m_bi e_bk,
 *
 * and for the first (per-component) layer ΔW_0[d, k·H + i] ∝ −Σ_b m_bi e_bk x_bd.
 * Conv layers sum the same products over positions, with the gate before
 * pooling (the broadcast error does not pass through pooling). The output unit
 * learns by its exact gradient. In a VNN the Jacobian from any unit to the
 * output is c·I with c ≥ 0 (shared nonnegative weights, per-unit gates), so for
 * a single example backprop's credit is c·m·e: every GEVB update has the sign of
 * the backprop gradient, and they differ only by the per-unit factors c.
 * Reference: davidclark1/VectorizedNets (`set_model_grads`).
 */
import * as tf from '@tensorflow/tfjs';
import { vectorOf } from '../src/capabilities.js';
import { defineRule } from '../src/entries.js';
import { conv2dFilterGrad } from '../src/ops.js';
import type { LearningRule, Params } from '../src/types.js';

/** Σ_k e_bk v[b, k, …] → [B, …]. */
function project(v: tf.Tensor, e: tf.Tensor): tf.Tensor {
  return tf.sum(tf.mul(v, tf.reshape(e, [...e.shape, ...new Array(v.rank - 2).fill(1)])), 1);
}

/** e_bk m_b… laid out as the first layer's K·n outputs: [B, …, K·n]. */
function perComponent(m: tf.Tensor, e: tf.Tensor): tf.Tensor {
  const [b, k] = e.shape as [number, number];
  const spatial = m.shape.slice(1, -1);
  const n = m.shape.at(-1)!;
  const outer = tf.mul(tf.expandDims(m, -2), tf.reshape(e, [b, ...spatial.map(() => 1), k, 1]));
  return tf.reshape(outer, [b, ...spatial, k * n]);
}

export function createGevb(): LearningRule {
  return {
    init: () => ({ tensors: {} }),
    step(ctx) {
      const { model, params, batch } = ctx;
      const vector = vectorOf(model);
      const { output, trace } = model.forward(params, batch.x, { training: true });
      const loss = ctx.loss.value(output, batch);
      const e = ctx.loss.outputGrad(output, batch); // [B, K]
      const updates: Params = {};
      vector.layers.forEach((layer, l) => {
        const { input, pre } = trace[l]!;
        if (!layer.hidden) {
          updates[layer.weight] = tf.reshape(tf.sum(project(input, e), 0), [-1, 1]);
          updates[layer.bias!] = tf.sum(e, 0);
          return;
        }
        const m = vector.gateMask(pre, params[layer.gate!]!); // [B, n] or [B, H, W, c]
        updates[layer.bias!] = layer.kind === 'conv' ? tf.matMul(e, tf.sum(m, [1, 2]), true, false) : tf.matMul(e, m, true, false);
        const shape = params[layer.weight]!.shape;
        if (layer.kind === 'dense') {
          updates[layer.weight] = layer.first ? tf.matMul(input as tf.Tensor2D, perComponent(m, e) as tf.Tensor2D, true, false) : tf.matMul(project(input, e) as tf.Tensor2D, m as tf.Tensor2D, true, false);
        } else {
          const x = (layer.first ? input : project(input, e)) as tf.Tensor4D;
          const dy = (layer.first ? perComponent(m, e) : m) as tf.Tensor4D;
          updates[layer.weight] = conv2dFilterGrad(x, dy, shape, 1, 'same');
        }
      });
      return { loss, output, updates };
    },
  };
}

export const gevb = defineRule({
  name: 'gevb',
  description: 'global error-vector broadcasting: every active vector unit takes the output error vector as its credit (vnn, vnn-conv)',
  reference: 'Clark, Abbott, Chung 2021, NeurIPS',
  output: 'gradient',
  requires: ['vector-units'],
  create: () => createGevb(),
});
