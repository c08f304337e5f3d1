/**
 * Weight initialisers. std = scale · sqrt(2 / fanIn) (Kaiming, He et al. 2015),
 * scale · sqrt(2 / (fanIn + fanOut)) (Xavier, Glorot & Bengio 2010), or plain
 * scale (normal). Weights are drawn in JavaScript from the run's `init` stream so
 * they are identical on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { option, parse } from '../src/options.js';
import type { Rng } from '../src/rng.js';

export const INITS = ['kaiming', 'xavier', 'normal'] as const;
export type InitName = (typeof INITS)[number];

export function initStd(init: InitName, fanIn: number, fanOut: number, scale: number): number {
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

export const initOptions = [
  option('init', '--init <name>', `weight initialiser: ${INITS.join(', ')}`, 'kaiming' as InitName, parse.choice(INITS)),
  option('initScale', '--init-scale <s>', 'multiplies the initialiser std (for normal: the std itself)', 1, parse.positiveNumber),
];
