/**
 * Multilayer perceptron. h0 = flatten(x); a_l = h_{l-1} W_l + b_l;
 * h_l = f(a_l) for hidden layers; the last layer is linear and its a_L are the
 * logits. Parameters `l{i}/W` [fanIn, fanOut] and `l{i}/b` [fanOut]. The trace
 * holds every layer's input, pre-activation and post-activation.
 */
import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS, activation, type ActivationName } from '../src/activations.js';
import { initParams } from '../src/init.js';
import { plainOps } from '../src/ops.js';
import { option, parse, type OptionsOf } from '../src/options.js';
import type { DataInfo, LayerInfo, LayerTrace, Model, ParamSpec } from '../src/types.js';
import { daleInit, daleOption, unitSigns, withDale, type DaleWeight } from '../src/dale.js';
import { defineModel } from '../src/entries.js';
import { addBatchedBias, batchedProduct } from '../src/population.js';
import { UsageError } from '../src/errors.js';
import { initOptions } from './init.js';

export const activationOption = option(
  'activation',
  '--activation <f>',
  `hidden activation: ${ACTIVATIONS.join(', ')}`,
  'relu' as ActivationName,
  parse.choice(ACTIVATIONS),
);

export const daleInputsOption = option('daleInputs', '--dale-inputs', 'with --dale: treat the input as excitatory too (first-layer weights ≥ 0)', false, parse.boolean);

export const mlpOptions = [
  option('hidden', '--hidden <sizes>', 'hidden layer widths, comma-separated (empty for none)', [256, 256], parse.intList),
  activationOption,
  ...initOptions,
  daleOption,
  daleInputsOption,
];

export type MlpOptions = OptionsOf<typeof mlpOptions>;

export interface MlpModel extends Model {
  /** Layer widths from input to output, e.g. [784, 256, 256, 10]. */
  readonly sizes: number[];
  readonly layers: readonly LayerInfo[];
}

export function createMlp(opts: MlpOptions, data: DataInfo): MlpModel {
  const inputSize = data.inputShape.reduce((a, b) => a * b, 1);
  const sizes = [inputSize, ...opts.hidden, data.outputSize];
  const count = sizes.length - 1;
  const specs: Record<string, ParamSpec> = {};
  const layers: LayerInfo[] = [];
  for (let l = 0; l < count; l++) {
    specs[`l${l}/W`] = { shape: [sizes[l]!, sizes[l + 1]!], role: 'weight' };
    specs[`l${l}/b`] = { shape: [sizes[l + 1]!], role: 'bias' };
    layers.push({ name: `l${l}`, kind: 'dense', weight: `l${l}/W`, bias: `l${l}/b`, hidden: l < count - 1, outputShape: [sizes[l + 1]!] });
  }
  const f = activation(opts.activation);
  const dale: DaleWeight[] = [];
  if (opts.dale && opts.initRank > 0) throw new UsageError('--init-rank does not combine with --dale (the signs would not survive the truncation)');
  if (opts.dale) {
    if (!opts.hidden.length && !opts.daleInputs) throw new UsageError('--dale needs hidden layers (their units are split into E and I) or --dale-inputs');
    if (opts.daleInputs) dale.push({ weight: 'l0/W', rowSigns: new Float32Array(inputSize).fill(1) });
    for (let l = 1; l < count; l++) dale.push({ weight: `l${l}/W`, rowSigns: unitSigns(sizes[l]!, opts.dale, `units in hidden layer ${l}`) });
    withDale(specs, dale);
  }
  return {
    name: 'mlp',
    sizes,
    specs,
    layers,
    init: (rng) => {
      const p = initParams(specs, rng, opts.init, opts.initScale, opts.initRank);
      daleInit(p, dale);
      return p;
    },
    forward(params, x, fwd = {}) {
      const ops = fwd.ops ?? plainOps;
      const trace: LayerTrace[] = [];
      let h = x.reshape([x.shape[0]!, inputSize]) as tf.Tensor2D;
      for (let l = 0; l < count; l++) {
        const input = h;
        const pre = tf.add(ops.dense(`l${l}`, input, params[`l${l}/W`] as tf.Tensor2D), params[`l${l}/b`]!) as tf.Tensor2D;
        h = (l < count - 1 ? ops.hidden(`l${l}`, f.f(pre)) : ops.output(pre)) as tf.Tensor2D;
        trace.push({ name: `l${l}`, input, pre, post: h });
      }
      return { output: h, trace };
    },
    populationForward(params, population, x) {
      // h [B, in] until the first varied layer, then [P, B, ·]: one batched product per layer.
      let h: tf.Tensor = x.reshape([x.shape[0]!, inputSize]);
      for (let l = 0; l < count; l++) {
        const w = population[`l${l}/W`] ?? params[`l${l}/W`]!;
        const b = population[`l${l}/b`] ?? params[`l${l}/b`]!;
        const a = addBatchedBias(batchedProduct(h, w), b);
        h = l < count - 1 ? f.f(a) : a;
      }
      const members = Object.values(population)[0]!.shape[0]!;
      return h.rank === 2 ? tf.mul(tf.ones([members, 1, 1]), h) : h;
    },
  };
}

export const mlp = defineModel({
  name: 'mlp',
  description: 'fully connected network, --hidden widths, --activation, Kaiming/Xavier/normal/torch init, --dale E/I split',
  reference: 'Rumelhart, Hinton, Williams 1986',
  options: mlpOptions,
  create: (o, data) => createMlp(o, data),
});
