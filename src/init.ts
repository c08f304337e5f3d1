/**
 * Weight initialisation. std = scale · sqrt(2 / fanIn) (Kaiming, He et al. 2015),
 * scale · sqrt(2 / (fanIn + fanOut)) (Xavier, Glorot & Bengio 2010), or plain
 * scale (normal). Weights are drawn in JavaScript from a named stream so they are
 * identical on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from './rng.js';

export const INITS = ['kaiming', 'xavier', 'normal'] as const;
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
  }
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
): Record<string, tf.Tensor> {
  const p: Record<string, tf.Tensor> = {};
  for (const [name, spec] of Object.entries(specs)) {
    p[name] = spec.role === 'weight' ? normalTensor(rng, spec.shape, initStd(init, spec.shape, scale)) : tf.zeros(spec.shape);
  }
  return p;
}
