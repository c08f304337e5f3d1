/**
 * A toy model: a linear map of the flattened input, z = x W + b, with no
 * capabilities beyond a differentiable forward pass — which `--opaque` withdraws,
 * as a model trained only by gradient-free rules would.
 */
import * as tf from '@tensorflow/tfjs';
import { defineModel } from '../../src/entries.js';
import { option, parse } from '../../src/options.js';

export const toyModel = defineModel({
  name: 'toy-linear',
  description: 'toy: a linear map of the flattened input',
  options: [
    option('scale', '--scale <s>', 'std of the initial weights', 0.1, parse.positiveNumber),
    option('opaque', '--opaque', 'declare the forward pass non-differentiable', false, parse.boolean),
  ],
  create: (o, data) => {
    const d = data.inputShape.reduce((a, b) => a * b, 1);
    const k = data.outputSize;
    return {
      name: 'toy-linear',
      differentiable: !o.opaque,
      specs: { W: { shape: [d, k], role: 'weight' }, b: { shape: [k], role: 'bias' } },
      init: (rng) => ({ W: tf.tensor2d(rng.normals(d * k, o.scale), [d, k]), b: tf.zeros([k]) }),
      forward: (p, x) => ({ output: tf.add(tf.matMul(tf.reshape(x, [x.shape[0]!, d]), p['W']!), p['b']!), trace: [] }),
    };
  },
});
