/**
 * Populations: P parameter sets evaluated on one shared batch (evolution
 * strategies score every perturbed member on the same examples). A population
 * is a map of [P, …shape] tensors for the parameters that vary; the others are
 * shared from the run's parameters. Models that provide `populationForward`
 * run all members at once with batched products; the others are run member
 * by member. tests/contracts/models.test.ts pins both to P single forwards.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch, Loss, Model, Params } from './types.js';

/** The number of members, checked to be the same leading size on every varied parameter. */
export function populationSize(population: Params): number {
  const sizes = new Set(Object.values(population).map((t) => t.shape[0]!));
  if (sizes.size !== 1) throw new Error(`a population needs one leading size P on every varied parameter; got ${[...sizes].join(', ') || 'none'}`);
  return [...sizes][0]!;
}

/** Member p as a full parameter map. */
export function member(params: Params, population: Params, p: number): Params {
  const out: Params = { ...params };
  for (const [name, t] of Object.entries(population)) out[name] = tf.squeeze(tf.slice(t, [p], [1]), [0]);
  return out;
}

/** Outputs [P, B, …] of every member on the same inputs (evaluation mode: no noise). */
export function populationOutputs(model: Model, params: Params, population: Params, x: tf.Tensor): tf.Tensor {
  const p = populationSize(population);
  for (const name of Object.keys(population)) {
    const spec = model.specs[name];
    const shape = population[name]!.shape.slice(1);
    if (!spec) throw new Error(`model ${model.name} has no parameter ${name}`);
    if (shape.join('×') !== spec.shape.join('×')) throw new Error(`population ${name} has members of shape ${shape.join('×')}, expected ${spec.shape.join('×')}`);
  }
  return tf.tidy(() => {
    if (model.populationForward) return model.populationForward(params, population, x);
    return tf.stack(Array.from({ length: p }, (_, i) => model.forward(member(params, population, i), x, { training: false }).output));
  });
}

/** One mean loss per member [P] on the same batch. */
export function populationLosses(model: Model, params: Params, population: Params, batch: Batch, loss: Loss): tf.Tensor1D {
  return tf.tidy(() => loss.values(populationOutputs(model, params, population, batch.x), batch));
}

/** h W for activations h [B, in] or [P, B, in] and a weight W [in, out] or [P, in, out]. */
export function batchedProduct(h: tf.Tensor, w: tf.Tensor): tf.Tensor {
  if (w.rank === 2 && h.rank === 2) return tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D);
  if (w.rank === 2) return tf.reshape(tf.matMul(tf.reshape(h, [-1, h.shape.at(-1)!]), w as tf.Tensor2D), [...h.shape.slice(0, -1), w.shape[1]!]);
  if (h.rank === 2) {
    // Shared activations, P weights: one wide product h [B, in] · [in, P·out] is ~10× faster
    // on wasm than a batched product over h copied P times.
    const [P, n, m] = w.shape as [number, number, number];
    const wide = tf.reshape(tf.transpose(w, [1, 0, 2]), [n, P * m]);
    return tf.transpose(tf.reshape(tf.matMul(h as tf.Tensor2D, wide), [h.shape[0]!, P, m]), [1, 0, 2]);
  }
  return tf.matMul(h as tf.Tensor3D, w as tf.Tensor3D);
}

/** a + b for a bias [n] or a population's biases [P, n] on activations [B, n] or [P, B, n]. */
export function addBatchedBias(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.add(a, b.rank === 2 ? tf.expandDims(b, 1) : b);
}
