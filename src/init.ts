/**
 * Weight initialisation. Normal with std = scale · sqrt(2 / fanIn) (Kaiming, He et
 * al. 2015), scale · sqrt(2 / (fanIn + fanOut)) (Xavier, Glorot & Bengio 2010) or
 * plain scale (normal); or uniform on ±scale/sqrt(fanIn) (torch: the default of
 * Torch7's and PyTorch's linear and conv layers, std = scale/sqrt(3·fanIn)).
 * Weights are drawn in JavaScript from a named stream so they are identical on
 * every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { truncateRank } from './linalg.js';
import type { Rng } from './rng.js';

export const INITS = ['kaiming', 'xavier', 'normal', 'torch'] as const;
export type InitName = (typeof INITS)[number];

/** Fan-in and fan-out of a dense [in, out] or conv [kh, kw, in, out] weight. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[0]!, fanOut: shape[1]! };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: receptive * shape.at(-2)!, fanOut: receptive * shape.at(-1)! };
}

export function initStd(init: InitName, shape: readonly number[], scale: number): number {
  const { fanIn, fanOut } = fans(shape);
  switch (init) {
    case 'kaiming':
      return scale * Math.sqrt(2 / fanIn);
    case 'xavier':
      return scale * Math.sqrt(2 / (fanIn + fanOut));
    case 'normal':
      return scale;
    case 'torch':
      return scale / Math.sqrt(3 * fanIn);
  }
}

function uniformTensor(rng: Rng, shape: number[], bound: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (2 * rng.uniform() - 1) * bound;
  return tf.tensor(v, shape);
}

export function normalTensor(rng: Rng, shape: number[], std: number): tf.Tensor {
  return tf.tensor(rng.normals(shape.reduce((a, b) => a * b, 1), std), shape);
}

/** Draws every 'weight' parameter with the chosen initialiser; everything else starts at zero. */
export function initParams(
  specs: Readonly<Record<string, { shape: number[]; role: string }>>,
  rng: Rng,
  init: InitName,
  scale: number,
  rank = 0,
): Record<string, tf.Tensor> {
  const p: Record<string, tf.Tensor> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.role !== 'weight') p[name] = tf.zeros(spec.shape);
    else if (init === 'torch') p[name] = uniformTensor(rng, spec.shape, scale / Math.sqrt(fans(spec.shape).fanIn));
    else p[name] = normalTensor(rng, spec.shape, initStd(init, spec.shape, scale));
    if (rank > 0 && spec.role === 'weight' && spec.shape.length === 2) {
      // --init-rank: the draw's best rank-r approximation at the draw's Frobenius norm (conv kernels keep their rank).
      const [rows, cols] = spec.shape as [number, number];
      const drawn = p[name]!;
      p[name] = tf.tensor2d(truncateRank(Float32Array.from(drawn.dataSync()), rows, cols, rank), [rows, cols]);
      drawn.dispose();
    }
  }
  return p;
}
