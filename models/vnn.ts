/**
 * Vectorized nonnegative networks (Clark, Abbott, Chung 2021, NeurIPS; reference
 * davidclark1/VectorizedNets). Every hidden unit carries a K-vector, K = the
 * number of classes; a weight W_ji is one scalar shared by the K components,
 * biases are per component. Shapes are [B, K, units] for dense layers and
 * [B, K, H, W, C] for conv layers.
 *
 * - First layer, mixed sign, each component its own projection of the input:
 *   a[b, k, i] = Σ_d x[b, d] W_0[d, k·H + i] + b_0[k, i] (dense), or a conv with
 *   K·C output channels of which component k owns channels k·C … k·C + C − 1.
 *   (The reference feeds the input to component k only, through its own block of
 *   one K-times-wider weight; this is the same map.)
 * - Later layers, W ≥ 0 (the projection after every update keeps it), applied to
 *   every component: a[b, k, :] = h[b, k, :] W_l + b_l[k, :].
 * - Vectorized ReLU: unit i has a fixed random gating vector t_i ∈ {±1}^K (units
 *   in ± pairs) and passes its whole vector when t_i · a_i ≥ 0, else outputs 0;
 *   conv layers gate per channel (one t per channel, at every position), before
 *   the 2 × 2 average pooling.
 * - Output: one vector unit, z[b, k] = Σ_i h[b, k, i] W_out[i] + b_out[k], W_out ≥ 0;
 *   its components are the logits.
 *
 * Initialisation (the reference's "mono" scheme, under which the network computes
 * the same function as a He-initialised mixed-sign one): the first layer comes in
 * ON/OFF pairs, unit 2i with weights w and unit 2i + 1 with −w, w ~ N(0, 1/fanIn)
 * per component (the reference's std √(K/(K·fanIn))); a later layer draws
 * W ~ N(0, 4/fanIn) of half size and sets W_l[2j, 2i] = W_l[2j+1, 2i+1] = relu(W[j, i]),
 * W_l[2j+1, 2i] = W_l[2j, 2i+1] = relu(−W[j, i]) (row convention: from unit j to
 * unit i); the output layer W_out[2j] = relu(W[j]), W_out[2j+1] = relu(−W[j]).
 * Biases 0. Gating vectors: t_{2i} uniform ±1, t_{2i+1} = −t_{2i}. All widths
 * (and channel counts) must be even.
 *
 * Parameters: `l{i}/W`, `l{i}/b` [K, units or channels], `l{i}/t` [K, units or
 * channels] (fixed, saved with the checkpoint); the output layer is the last
 * `l{L}` (`l{L}/W` [H, 1], `l{L}/b` [K]).
 */
import * as tf from '@tensorflow/tfjs';
import { nonnegative } from '../src/constraints.js';
import { UsageError } from '../src/errors.js';
import { plainOps } from '../src/ops.js';
import { defineModel } from '../src/entries.js';
import { option, parse, type OptionsOf } from '../src/options.js';
import type { Rng } from '../src/rng.js';
import type { DataInfo, LayerTrace, Model, Params, ParamSpec, VectorLayer, VectorUnits } from '../src/types.js';

export const vnnOptions = [option('hidden', '--hidden <sizes>', 'hidden layer widths (even), comma-separated', [1024, 512], parse.intList)];

export const vnnConvOptions = [
  option('channels', '--channels <list>', 'vnn-conv: channels (even) of the 3×3 conv layers, each followed by gating and 2×2 average pooling', [32, 32], parse.intList),
  option('hidden', '--hidden <sizes>', 'hidden layer widths (even), comma-separated', [256], parse.intList),
];

export type VnnOptions = OptionsOf<typeof vnnOptions>;
export type VnnConvOptions = OptionsOf<typeof vnnConvOptions>;

type VnnLayer = VectorLayer;

export interface VnnModel extends Model {
  readonly classes: number;
  readonly layers: readonly VnnLayer[];
  readonly vector: VectorUnits;
}

function requireEven(name: string, sizes: number[]): void {
  for (const n of sizes) if (n < 2 || n % 2 !== 0) throw new UsageError(`${name} must be even and ≥ 2 (units come in ON/OFF pairs), got ${n}`);
}

/** Gating vectors [K, n] in ± pairs along the units. */
function gates(rng: Rng, k: number, n: number): tf.Tensor2D {
  const t = new Float32Array(k * n);
  for (let i = 0; i < n; i += 2) {
    for (let c = 0; c < k; c++) {
      const s = rng.uniform() < 0.5 ? -1 : 1;
      t[c * n + i] = s;
      t[c * n + i + 1] = -s;
    }
  }
  return tf.tensor2d(t, [k, n]);
}

/** First-layer weights [fanIn, K·n]: ON/OFF pairs w, −w per component, w ~ N(0, 1/fanIn). */
function firstLayerWeights(rng: Rng, fanIn: number, k: number, n: number): Float32Array {
  const w = new Float32Array(fanIn * k * n);
  const std = 1 / Math.sqrt(fanIn);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i += 2) {
      for (let d = 0; d < fanIn; d++) {
        const v = std * rng.normal();
        w[d * k * n + c * n + i] = v;
        w[d * k * n + c * n + i + 1] = -v;
      }
    }
  }
  return w;
}

/**
 * Nonnegative ON/OFF weights [nIn, nOut] (nOut = 1 for the output unit), from a
 * half-size W ~ N(0, 4/fanIn); `spatial` positions share nothing (conv: one
 * [k·k] block per pair of channels, laid out [k, k, nIn, nOut]).
 */
function pairedWeights(rng: Rng, nIn: number, nOut: number, fanIn: number, spatial = 1): Float32Array {
  const w = new Float32Array(spatial * nIn * nOut);
  const std = 2 / Math.sqrt(fanIn);
  for (let s = 0; s < spatial; s++) {
    const base = s * nIn * nOut;
    for (let j = 0; j < nIn; j += 2) {
      for (let i = 0; i < nOut; i += nOut === 1 ? 1 : 2) {
        const v = std * rng.normal();
        const [pos, neg] = [Math.max(v, 0), Math.max(-v, 0)];
        w[base + j * nOut + i] = pos;
        w[base + (j + 1) * nOut + i] = neg;
        if (nOut > 1) {
          w[base + j * nOut + i + 1] = neg;
          w[base + (j + 1) * nOut + i + 1] = pos;
        }
      }
    }
  }
  return w;
}

/** The vectorized ReLU's gate: 1 where t · a ≥ 0 over the K components (axis 1). */
function gateMask(a: tf.Tensor, t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const shape = [1, ...t.shape.slice(0, 1), ...new Array(a.rank - 3).fill(1), t.shape[1]!];
    return tf.cast(tf.greaterEqual(tf.sum(tf.mul(a, tf.reshape(t, shape)), 1), 0), 'float32');
  });
}

/** h = a ⊙ m broadcast over the components. */
function gated(a: tf.Tensor, m: tf.Tensor): tf.Tensor {
  return tf.mul(a, tf.expandDims(m, 1));
}

function denseStack(
  specs: Record<string, ParamSpec>,
  layers: VnnLayer[],
  start: number,
  sizes: number[],
  k: number,
): void {
  // sizes: the widths feeding each layer; the last layer maps sizes.at(-1) units to the output unit.
  for (let l = 0; l < sizes.length; l++) {
    const name = `l${start + l}`;
    const out = l === sizes.length - 1;
    specs[`${name}/W`] = { shape: [sizes[l]!, out ? 1 : sizes[l + 1]!], role: 'weight', constraint: nonnegative() };
    specs[`${name}/b`] = { shape: out ? [k] : [k, sizes[l + 1]!], role: 'bias' };
    if (!out) specs[`${name}/t`] = { shape: [k, sizes[l + 1]!], role: 'state', trainable: false };
    layers.push({ name, kind: 'dense', weight: `${name}/W`, bias: `${name}/b`, hidden: !out, outputShape: out ? [k] : [k, sizes[l + 1]!], first: false, ...(out ? {} : { gate: `${name}/t` }) });
  }
}

/** Runs the nonnegative dense layers from `from` on h [B, K, n]; returns the logits [B, K]. */
function denseForward(model: VnnModel, params: Params, h: tf.Tensor, from: number, ops: typeof plainOps, trace: LayerTrace[]): tf.Tensor {
  const [b, k] = [h.shape[0]!, model.classes];
  for (const layer of model.layers.slice(from)) {
    const input = h;
    const w = params[layer.weight] as tf.Tensor2D;
    const flat = tf.reshape(input, [b * k, input.size / (b * k)]) as tf.Tensor2D;
    const a = tf.add(tf.reshape(ops.dense(layer.name, flat, w), layer.hidden ? [b, k, w.shape[1]] : [b, k]), params[layer.bias!]!);
    h = layer.hidden ? ops.hidden(layer.name, gated(a, gateMask(a, params[layer.gate!]!))) : ops.output(a);
    trace.push({ name: layer.name, input, pre: a, post: h });
  }
  return h;
}

export function createVnn(opts: VnnOptions, data: DataInfo): VnnModel {
  requireEven('--hidden widths', opts.hidden);
  if (!opts.hidden.length) throw new UsageError('model vnn needs at least one hidden layer (--hidden)');
  const k = data.outputSize;
  const d = data.inputShape.reduce((a, b) => a * b, 1);
  const h0 = opts.hidden[0]!;
  const specs: Record<string, ParamSpec> = {
    'l0/W': { shape: [d, k * h0], role: 'weight' },
    'l0/b': { shape: [k, h0], role: 'bias' },
    'l0/t': { shape: [k, h0], role: 'state', trainable: false },
  };
  const layers: VnnLayer[] = [{ name: 'l0', kind: 'dense', weight: 'l0/W', bias: 'l0/b', gate: 'l0/t', hidden: true, outputShape: [k, h0], first: true }];
  denseStack(specs, layers, 1, opts.hidden, k);
  const model: VnnModel = {
    name: 'vnn',
    classes: k,
    specs,
    layers,
    vector: { layers, gateMask },
    init(rng) {
      const p: Params = {
        'l0/W': tf.tensor2d(firstLayerWeights(rng, d, k, h0), [d, k * h0]),
        'l0/b': tf.zeros([k, h0]),
        'l0/t': gates(rng, k, h0),
      };
      initDense(p, layers.slice(1), opts.hidden, rng, k);
      return p;
    },
    forward(params, x, fwd = {}) {
      const ops = fwd.ops ?? plainOps;
      const b = x.shape[0]!;
      const input = tf.reshape(x, [b, d]) as tf.Tensor2D;
      const a = tf.add(tf.reshape(ops.dense('l0', input, params['l0/W'] as tf.Tensor2D), [b, k, h0]), params['l0/b']!);
      const h = ops.hidden('l0', gated(a, gateMask(a, params['l0/t']!)));
      const trace: LayerTrace[] = [{ name: 'l0', input, pre: a, post: h }];
      const output = denseForward(model, params, h, 1, ops, trace);
      return { output, trace };
    },
  };
  return model;
}

function initDense(p: Params, layers: VnnLayer[], widths: number[], rng: Rng, k: number): void {
  layers.forEach((layer, l) => {
    const nIn = widths[l]!;
    const nOut = layer.hidden ? widths[l + 1]! : 1;
    p[layer.weight] = tf.tensor2d(pairedWeights(rng, nIn, nOut, nIn), [nIn, nOut]);
    p[layer.bias!] = layer.hidden ? tf.zeros([k, nOut]) : tf.zeros([k]);
    if (layer.gate) p[layer.gate] = gates(rng, k, nOut);
  });
}

export function createVnnConv(opts: VnnConvOptions, data: DataInfo): VnnModel {
  if (data.inputShape.length !== 3) throw new UsageError(`model vnn-conv needs image inputs [height, width, channels], got shape [${data.inputShape.join(', ')}]`);
  requireEven('--channels', opts.channels);
  requireEven('--hidden widths', opts.hidden);
  if (!opts.channels.length) throw new UsageError('model vnn-conv needs at least one conv layer (--channels)');
  const k = data.outputSize;
  let [hh, ww, cin] = data.inputShape as [number, number, number];
  const specs: Record<string, ParamSpec> = {};
  const layers: VnnLayer[] = [];
  opts.channels.forEach((c, l) => {
    const name = `l${l}`;
    const first = l === 0;
    specs[`${name}/W`] = first ? { shape: [3, 3, cin, k * c], role: 'weight' } : { shape: [3, 3, cin, c], role: 'weight', constraint: nonnegative() };
    specs[`${name}/b`] = { shape: [k, c], role: 'bias' };
    specs[`${name}/t`] = { shape: [k, c], role: 'state', trainable: false };
    layers.push({ name, kind: 'conv', weight: `${name}/W`, bias: `${name}/b`, gate: `${name}/t`, hidden: true, outputShape: [k, hh, ww, c], stride: 1, pad: 'same', first, pool: 2 });
    if (hh % 2 || ww % 2) throw new UsageError(`model vnn-conv: a ${hh}×${ww} map cannot be pooled 2×2 (too many --channels layers for the input)`);
    [hh, ww, cin] = [hh / 2, ww / 2, c];
  });
  const flat = hh * ww * cin;
  const widths = [flat, ...opts.hidden];
  denseStack(specs, layers, opts.channels.length, widths, k);
  const nConv = opts.channels.length;
  // The first layer's output alone is K·H·W·C floats per example, and the forward pass holds a few
  // copies of it: cap evaluation batches to ~200 M floats of it (the wasm backend has 4 GB in all).
  const [h0, w0] = data.inputShape as [number, number];
  const maxBatch = Math.max(8, Math.floor(2e8 / (4 * k * h0 * w0 * opts.channels[0]!)));
  const model: VnnModel = {
    name: 'vnn-conv',
    classes: k,
    maxBatch,
    specs,
    layers,
    vector: { layers, gateMask },
    init(rng) {
      const p: Params = {};
      layers.slice(0, nConv).forEach((layer) => {
        const [kh, kw, ci, co] = specs[layer.weight]!.shape as [number, number, number, number];
        const c = layer.outputShape.at(-1)!;
        if (layer.first) {
          // [kh·kw·ci, K·c] is the same memory as [kh, kw, ci, K·c].
          p[layer.weight] = tf.tensor4d(firstLayerWeights(rng, kh * kw * ci, k, c), [kh, kw, ci, co]);
        } else {
          p[layer.weight] = tf.tensor4d(pairedWeights(rng, ci, co, kh * kw * ci, kh * kw), [kh, kw, ci, co]);
        }
        p[layer.bias!] = tf.zeros([k, c]);
        p[layer.gate!] = gates(rng, k, c);
      });
      initDense(p, layers.slice(nConv), widths, rng, k);
      return p;
    },
    forward(params, x, fwd = {}) {
      const ops = fwd.ops ?? plainOps;
      const b = x.shape[0]!;
      const trace: LayerTrace[] = [];
      let h: tf.Tensor = x;
      for (const layer of layers.slice(0, nConv)) {
        const input = h;
        const [, H, W, c] = layer.outputShape as [number, number, number, number];
        const w = params[layer.weight] as tf.Tensor4D;
        let a: tf.Tensor;
        if (layer.first) {
          // [B, H, W, K·c] → [B, K, H, W, c]
          const y = ops.conv2d(layer.name, input as tf.Tensor4D, w, 1, 'same');
          a = tf.transpose(tf.reshape(y, [b, H, W, k, c]), [0, 3, 1, 2, 4]);
        } else {
          const y = ops.conv2d(layer.name, tf.reshape(input, [b * k, H, W, input.shape.at(-1)!]) as tf.Tensor4D, w, 1, 'same');
          a = tf.reshape(y, [b, k, H, W, c]);
        }
        a = tf.add(a, tf.reshape(params[layer.bias!]!, [1, k, 1, 1, c]));
        const post = ops.hidden(layer.name, gated(a, gateMask(a, params[layer.gate!]!)));
        h = tf.reshape(tf.avgPool(tf.reshape(post, [b * k, H, W, c]) as tf.Tensor4D, 2, 2, 'valid'), [b, k, H / 2, W / 2, c]);
        trace.push({ name: layer.name, input, pre: a, post });
      }
      const output = denseForward(model, params, tf.reshape(h, [b, k, flat]), nConv, ops, trace);
      return { output, trace };
    },
  };
  return model;
}

export const vnn = defineModel({
  name: 'vnn',
  description: 'vectorized nonnegative network: K-vector units, mixed-sign first layer, W ≥ 0 after it, ±1 gating vectors (--hidden)',
  reference: 'Clark, Abbott, Chung 2021, NeurIPS',
  options: vnnOptions,
  create: (o, data) => createVnn(o, data),
});

export const vnnConv = defineModel({
  name: 'vnn-conv',
  description: 'convolutional VNN: 3×3 vector conv layers with per-channel gating and 2×2 average pooling (--channels), then --hidden',
  reference: 'Clark, Abbott, Chung 2021, NeurIPS',
  options: vnnConvOptions,
  create: (o, data) => createVnnConv(o, data),
});
