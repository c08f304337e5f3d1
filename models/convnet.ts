/**
 * Convolutional network described by a compact spec (`--arch`), LeCun et al. 1998
 * style. Tokens, separated by `-`:
 *
 *   c<n>k<k>    convolution, n filters of k×k, stride 1, 'same' padding
 *   c<n>k<k>v   the same with 'valid' padding
 *   m<k>, a<k>  max / average pooling, k×k windows, stride k
 *   d<n>        dense layer of n units (the input is flattened first)
 *
 * Every conv and dense layer is followed by the activation; a final dense layer
 * produces the logits. The default `c6k5-m2-c16k5v-m2-d120-d84` is LeNet-5 on
 * 28×28 inputs (28 → 28 → 14 → 10 → 5; 16·5·5 = 400 → 120 → 84 → 10), the
 * architecture of biotorch's LeNet benchmarks.
 *
 * Parameters: conv layers `l{i}/W` [k, k, in, out] and `l{i}/b` [out]; dense
 * layers as in mlp. Pooling passes gradients as in backprop under every rule.
 */
import * as tf from '@tensorflow/tfjs';
import { activation } from '../src/activations.js';
import { UsageError } from '../src/errors.js';
import { defineModel } from '../src/entries.js';
import { initParams } from '../src/init.js';
import { plainOps, type Padding } from '../src/ops.js';
import { option, parse, type OptionsOf } from '../src/options.js';
import type { DataInfo, LayerInfo, LayerTrace, Model, ParamSpec } from '../src/types.js';
import { initOptions } from './init.js';
import { daleInit, daleOption, unitSigns, withDale, type DaleWeight } from '../src/dale.js';
import { activationOption, daleInputsOption } from './mlp.js';

export const DEFAULT_ARCH = 'c6k5-m2-c16k5v-m2-d120-d84';

export const convnetOptions = [
  option('arch', '--arch <spec>', 'layers, e.g. c6k5-m2-c16k5v-m2-d120-d84 (c: conv n filters k×k [v: valid], m/a: max/avg pool, d: dense)', DEFAULT_ARCH, parse.string),
  activationOption,
  ...initOptions,
  daleOption,
  daleInputsOption,
];

export type ConvnetOptions = OptionsOf<typeof convnetOptions>;

type Step =
  | { kind: 'conv'; layer: LayerInfo; k: number; in: number; out: number }
  | { kind: 'pool'; type: 'max' | 'avg'; k: number }
  | { kind: 'dense'; layer: LayerInfo; in: number; out: number; flatten: boolean };

function bad(token: string, why: string): never {
  throw new UsageError(`--arch: "${token}" ${why}`);
}

/** Parses the spec against an input shape [H, W, C]; returns the steps in order. */
export function parseArch(arch: string, inputShape: number[], outputSize: number): Step[] {
  if (inputShape.length !== 3) {
    throw new UsageError(`model convnet needs image inputs [height, width, channels], got shape [${inputShape.join(', ')}]`);
  }
  let [h, w, c] = inputShape as [number, number, number];
  let flat: number | null = null;
  const steps: Step[] = [];
  let index = 0;
  const tokens = arch.trim() === '' ? [] : arch.split('-');
  for (const token of tokens) {
    let m: RegExpExecArray | null;
    if ((m = /^c(\d+)k(\d+)(v?)$/.exec(token))) {
      if (flat !== null) bad(token, 'comes after a dense layer; convolutions must come first');
      const [n, k, valid] = [Number(m[1]), Number(m[2]), m[3] === 'v'];
      if (n < 1 || k < 1) bad(token, 'needs at least one filter of size ≥ 1');
      const pad: Padding = valid ? 'valid' : 'same';
      if (valid) {
        h = h - k + 1;
        w = w - k + 1;
        if (h < 1 || w < 1) bad(token, `does not fit the ${h + k - 1}×${w + k - 1} input it receives`);
      }
      const name = `l${index++}`;
      steps.push({
        kind: 'conv',
        k,
        in: c,
        out: n,
        layer: { name, kind: 'conv', weight: `${name}/W`, bias: `${name}/b`, hidden: true, outputShape: [h, w, n], stride: 1, pad },
      });
      c = n;
    } else if ((m = /^([ma])(\d+)$/.exec(token))) {
      if (flat !== null) bad(token, 'comes after a dense layer; pooling must come before');
      const k = Number(m[2]);
      if (k < 1 || k > h || k > w) bad(token, `does not fit the ${h}×${w} input it receives`);
      steps.push({ kind: 'pool', type: m[1] === 'm' ? 'max' : 'avg', k });
      h = Math.floor(h / k);
      w = Math.floor(w / k);
    } else if ((m = /^d(\d+)$/.exec(token))) {
      const n = Number(m[1]);
      if (n < 1) bad(token, 'needs at least one unit');
      const fanIn = flat ?? h * w * c;
      const name = `l${index++}`;
      steps.push({
        kind: 'dense',
        in: fanIn,
        out: n,
        flatten: flat === null,
        layer: { name, kind: 'dense', weight: `${name}/W`, bias: `${name}/b`, hidden: true, outputShape: [n] },
      });
      flat = n;
    } else {
      bad(token, 'is not a layer: use c<n>k<k>[v], m<k>, a<k> or d<n>');
    }
  }
  const name = `l${index}`;
  steps.push({
    kind: 'dense',
    in: flat ?? h * w * c,
    out: outputSize,
    flatten: flat === null,
    layer: { name, kind: 'dense', weight: `${name}/W`, bias: `${name}/b`, hidden: false, outputShape: [outputSize] },
  });
  return steps;
}

/**
 * Dale's law on a convnet: conv channels and dense units are E or I (first ⌈p·n⌉
 * excitatory). A conv weight [k, k, in, out] viewed as [k·k·in, out] has row r
 * from input channel r mod in; a dense layer after a flatten has row r from
 * channel r mod C of the NHWC feature map (pooling keeps channels).
 */
function daleWeights(steps: Step[], p: number, inputs: boolean): DaleWeight[] {
  const out: DaleWeight[] = [];
  let signs: Float32Array | null = null;
  for (const s of steps) {
    if (s.kind === 'pool') continue;
    const rows = s.kind === 'conv' ? s.k * s.k * s.in : s.in;
    const from = signs ?? (inputs ? new Float32Array(s.kind === 'conv' ? s.in : 1).fill(1) : null);
    if (from) out.push({ weight: s.layer.weight, rowSigns: Float32Array.from({ length: rows }, (_, r) => from[r % from.length]!) });
    if (s.layer.hidden) signs = unitSigns(s.out, p, s.kind === 'conv' ? `channels in ${s.layer.name}` : `units in ${s.layer.name}`);
  }
  return out;
}

export interface ConvnetModel extends Model {
  readonly layers: readonly LayerInfo[];
}

export function createConvnet(opts: ConvnetOptions, data: DataInfo): ConvnetModel {
  const steps = parseArch(opts.arch, data.inputShape, data.outputSize);
  const specs: Record<string, ParamSpec> = {};
  const layers: LayerInfo[] = [];
  for (const s of steps) {
    if (s.kind === 'pool') continue;
    specs[s.layer.weight] = { shape: s.kind === 'conv' ? [s.k, s.k, s.in, s.out] : [s.in, s.out], role: 'weight' };
    specs[s.layer.bias!] = { shape: [s.out], role: 'bias' };
    layers.push(s.layer);
  }
  const f = activation(opts.activation);
  if (opts.dale && opts.initRank > 0) throw new UsageError('--init-rank does not combine with --dale (the signs would not survive the truncation)');
  const dale = opts.dale ? daleWeights(steps, opts.dale, Boolean(opts.daleInputs)) : [];
  withDale(specs, dale);
  return {
    name: 'convnet',
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
      let h = x;
      for (const s of steps) {
        if (s.kind === 'pool') {
          const h4 = h as tf.Tensor4D;
          h = s.type === 'max' ? tf.maxPool(h4, s.k, s.k, 'valid') : tf.avgPool(h4, s.k, s.k, 'valid');
          continue;
        }
        const { name, weight, bias, hidden } = s.layer;
        const input = s.kind === 'dense' && s.flatten ? h.reshape([h.shape[0]!, s.in]) : h;
        const lin =
          s.kind === 'conv'
            ? ops.conv2d(name, input as tf.Tensor4D, params[weight] as tf.Tensor4D, 1, s.layer.pad!)
            : ops.dense(name, input as tf.Tensor2D, params[weight] as tf.Tensor2D);
        const pre = tf.add(lin, params[bias!]!);
        h = hidden ? ops.hidden(name, f.f(pre)) : ops.output(pre);
        trace.push({ name, input, pre, post: h });
      }
      return { output: h, trace };
    },
  };
}

export const convnet = defineModel({
  name: 'convnet',
  description: 'convolutional network from a compact --arch spec; default LeNet-5 (c6k5-m2-c16k5v-m2-d120-d84)',
  reference: 'LeCun, Bottou, Bengio, Haffner 1998',
  options: convnetOptions,
  create: (o, data) => createConvnet(o, data),
});
