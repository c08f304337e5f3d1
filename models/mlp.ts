/**
 * Multilayer perceptron. h0 = flatten(x); a_l = h_{l-1} W_l + b_l;
 * h_l = f(a_l) for hidden layers; the last layer is linear and its a_L are the
 * logits. Parameters `l{i}/W` [fanIn, fanOut] and `l{i}/b` [fanOut]. The trace
 * holds every layer's input, pre-activation and post-activation.
 */
import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS, activation, type ActivationName } from '../src/activations.js';
import { option, parse } from '../src/options.js';
import type { Rng } from '../src/rng.js';
import type { DataInfo, LayerTrace, Model, ParamSpec, Params } from '../src/types.js';
import { initOptions, initStd, normalTensor, type InitName } from './init.js';

export interface MlpOptions {
  hidden: number[];
  activation: ActivationName;
  init: InitName;
  initScale: number;
}

export const mlpOptions = [
  option('hidden', '--hidden <sizes>', 'hidden layer widths, comma-separated (empty for none)', [256, 256], parse.intList),
  option('activation', '--activation <f>', `hidden activation: ${ACTIVATIONS.join(', ')}`, 'relu' as ActivationName, parse.choice(ACTIVATIONS)),
  ...initOptions,
];

export interface MlpModel extends Model {
  readonly options: MlpOptions;
  /** Layer widths from input to output, e.g. [784, 256, 256, 10]. */
  readonly sizes: number[];
}

export function createMlp(opts: MlpOptions, data: DataInfo): MlpModel {
  const inputSize = data.inputShape.reduce((a, b) => a * b, 1);
  const sizes = [inputSize, ...opts.hidden, data.outputSize];
  const layers = sizes.length - 1;
  const specs: Record<string, ParamSpec> = {};
  for (let l = 0; l < layers; l++) {
    specs[`l${l}/W`] = { shape: [sizes[l]!, sizes[l + 1]!], role: 'weight' };
    specs[`l${l}/b`] = { shape: [sizes[l + 1]!], role: 'bias' };
  }
  const f = activation(opts.activation);
  return {
    name: 'mlp',
    options: opts,
    sizes,
    specs,
    init(rng: Rng): Params {
      const p: Params = {};
      for (let l = 0; l < layers; l++) {
        const [fanIn, fanOut] = [sizes[l]!, sizes[l + 1]!];
        p[`l${l}/W`] = normalTensor(rng, [fanIn, fanOut], initStd(opts.init, fanIn, fanOut, opts.initScale));
        p[`l${l}/b`] = tf.zeros([fanOut]);
      }
      return p;
    },
    forward(params: Params, x: tf.Tensor) {
      const trace: LayerTrace[] = [];
      let h = x.reshape([x.shape[0]!, inputSize]);
      for (let l = 0; l < layers; l++) {
        const pre = tf.add(tf.matMul(h, params[`l${l}/W`]!), params[`l${l}/b`]!);
        const post = l < layers - 1 ? f.f(pre) : pre;
        trace.push({ name: `l${l}`, input: h, pre, post });
        h = post;
      }
      return { output: h, trace };
    },
  };
}
