/**
 * Layer ops for rules that replace the transposed weights of the backward pass
 * with feedback weights F_l of the same shape as W_l (fa, usf, frsf, brsf), and
 * the diagnostics that compare F_l with W_l. The first layer never needs
 * feedback (nothing below it receives an error).
 */
import * as tf from '@tensorflow/tfjs';
import { layersOf } from '../src/capabilities.js';
import { angleDegrees } from '../src/grad.js';
import { initStd, normalTensor } from '../src/init.js';
import { conv2dWithFeedback, denseWithFeedback, plainOps, type LayerOps } from '../src/ops.js';
import type { Rng } from '../src/rng.js';
import type { FeedbackDiagnostic, LayerInfo, Model, Params } from '../src/types.js';

export interface Feedback {
  /** Whether the layer sends its error back through feedback weights. */
  has(layer: LayerInfo): boolean;
  /** F_l given the current W_l (called in the backward pass and by diagnostics). */
  weights(layer: LayerInfo, w: tf.Tensor): tf.Tensor;
}

export function feedbackOps(model: Model, feedback: Feedback): LayerOps {
  const layers = new Map(layersOf(model).map((l) => [l.name, l]));
  return {
    ...plainOps,
    dense: (name, x, w) => {
      const layer = layers.get(name)!;
      return feedback.has(layer) ? denseWithFeedback(x, w, () => feedback.weights(layer, w)) : tf.matMul(x, w);
    },
    conv2d: (name, x, k, stride, pad) => {
      const layer = layers.get(name)!;
      return feedback.has(layer) ? conv2dWithFeedback(x, k, () => feedback.weights(layer, k), stride, pad) : tf.conv2d(x, k, stride, pad);
    },
  };
}

/** Angle between F_l and W_l and ‖F_l‖/‖W_l‖ for every layer with feedback. */
export function feedbackAlignment(model: Model, params: Params, feedback: Feedback): Record<string, FeedbackDiagnostic> {
  const out: Record<string, FeedbackDiagnostic> = {};
  for (const layer of layersOf(model)) {
    if (!feedback.has(layer)) continue;
    const w = params[layer.weight]!;
    tf.tidy(() => {
      const f = feedback.weights(layer, w);
      out[layer.name] = { angle: angleDegrees(f, w), normRatio: tf.norm(f).dataSync()[0]! / tf.norm(w).dataSync()[0]! };
    });
  }
  return out;
}

/** True for every layer but the first. */
export function notFirst(model: Model): (layer: LayerInfo) => boolean {
  const first = layersOf(model)[0]!.name;
  return (layer) => layer.name !== first;
}

/**
 * Random matrices of the shape of W_l for every layer but the first, drawn from
 * N(0, σ²) with σ = scale · sqrt(2/(fanIn+fanOut)) and stored under `key(layer)`.
 */
export function drawFeedback(
  model: Model,
  params: Params,
  rng: Rng,
  scale: number,
  key: (layer: LayerInfo) => string,
): Record<string, tf.Tensor> {
  const tensors: Record<string, tf.Tensor> = {};
  const needed = notFirst(model);
  for (const layer of layersOf(model)) {
    if (!needed(layer)) continue;
    const shape = params[layer.weight]!.shape;
    tensors[key(layer)] = normalTensor(rng, shape, initStd('xavier', shape, scale));
  }
  return tensors;
}
