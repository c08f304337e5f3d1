/**
 * Gated linear network (Lippl, Abbott, Chung 2022). Every unit of a gated layer
 * has s fixed random hyperplanes on the raw (flattened) input x; their s
 * half-space tests pick one of C = 2^s contexts, and the unit computes the
 * linear function of its layer input that belongs to that context:
 *
 *   h_j = Σ_c g_jc(x) (h_{l-1} W_l)[j·C + c],   g_jc(x) = 1[context of unit j at x is c],
 *   context bit k of unit j = 1[x·u_jk > θ_jk].
 *
 * With hidden layers, all of them are gated and the readout is linear and
 * ungated; without hidden layers the one layer is gated (the shallow GLN). No
 * layer has a bias (use the data's `--bias-input`), so the network is
 * homogeneous in its weights: degree L for L layers, which is what the
 * implicit-bias analysis relies on.
 *
 * Gates never train. Normals u ~ N(0, 1); thresholds are drawn θ ~ N(0, σ²)
 * with σ = 0.25 (`random`: the reference draws normals with std 36 and
 * thresholds with std 9), or set to the median of x·u over the training inputs
 * (`median`). They are stored as fixed parameters `l{i}/gateU` [D, units·s] and
 * `l{i}/gateT` [units·s], so checkpoints carry them.
 *
 * Parameters `l{i}/W` [fanIn, units·C]: column j·C + c is unit j's weight
 * vector for context c. The layer goes through LayerOps as a dense layer
 * followed by the gating, so fa, dfa and the sign-symmetry rules work unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../src/errors.js';
import { defineModel } from '../src/entries.js';
import { initParams } from '../src/init.js';
import { plainOps } from '../src/ops.js';
import { option, parse, type OptionsOf } from '../src/options.js';
import type { Rng } from '../src/rng.js';
import type { DataInfo, GatedContexts, GatedLayer, LayerInfo, LayerTrace, Model, ParamSpec, Params } from '../src/types.js';
import { initOptions } from './init.js';

export const GATE_THRESHOLDS = ['median', 'random'] as const;
export type GateThreshold = (typeof GATE_THRESHOLDS)[number];
/** Std of random thresholds relative to unit-variance normals (the reference's 9 / 36). */
const RANDOM_THRESHOLD_STD = 0.25;
/** More contexts than this per unit would need weight matrices beyond any sensible size. */
const MAX_GATES = 12;

export const glnOptions = [
  option('hidden', '--hidden <sizes>', 'gated hidden layer widths, comma-separated (empty: one gated layer, the shallow GLN)', [100], parse.intList),
  option('gates', '--gates <s>', 'hyperplanes per unit s; each unit has 2^s contexts (0: a deep linear network)', 1, (raw) => {
    const v = parse.nonNegativeInt(raw);
    if (v > MAX_GATES) throw new Error(`must be at most ${MAX_GATES} (2^s weight vectors per unit)`);
    return v;
  }),
  option('threshold', '--gate-threshold <t>', 'gate thresholds: median (of x·u over the training inputs) or random', 'median' as GateThreshold, parse.choice(GATE_THRESHOLDS)),
  ...initOptions,
];

export type GlnOptions = OptionsOf<typeof glnOptions>;

export interface GlnModel extends Model {
  readonly layers: readonly LayerInfo[];
  readonly gated: GatedContexts;
}

/** Per-column medians of a row-major [n, m] matrix. */
function columnMedians(v: Float32Array, n: number, m: number): Float32Array {
  const out = new Float32Array(m);
  const col = new Float32Array(n);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++) col[i] = v[i * m + j]!;
    col.sort();
    out[j] = n % 2 ? col[(n - 1) / 2]! : (col[n / 2 - 1]! + col[n / 2]!) / 2;
  }
  return out;
}

export function createGln(opts: GlnOptions, data: DataInfo): GlnModel {
  const inputSize = data.inputShape.reduce((a, b) => a * b, 1);
  const s = opts.gates;
  const C = 2 ** s;
  const widths = [...opts.hidden, data.outputSize];
  const glnLayers: GatedLayer[] = widths.map((units, l) => {
    const gated = opts.hidden.length === 0 || l < widths.length - 1;
    return { name: `l${l}`, weight: `l${l}/W`, units, contexts: gated ? C : 1, gated };
  });
  if (opts.threshold === 'median' && s > 0 && !data.trainInputs) {
    throw new UsageError('--gate-threshold median needs the training inputs, which this dataset does not provide; use --gate-threshold random');
  }
  const specs: Record<string, ParamSpec> = {};
  const layers: LayerInfo[] = [];
  let fanIn = inputSize;
  for (const L of glnLayers) {
    specs[`${L.name}/W`] = { shape: [fanIn, L.units * L.contexts], role: 'weight' };
    if (L.gated && s > 0) {
      specs[`${L.name}/gateU`] = { shape: [inputSize, L.units * s], role: 'state', trainable: false };
      specs[`${L.name}/gateT`] = { shape: [L.units * s], role: 'state', trainable: false };
    }
    layers.push({ name: L.name, kind: 'dense', weight: `${L.name}/W`, hidden: L !== glnLayers.at(-1), outputShape: [L.units] });
    fanIn = L.units;
  }
  const bitValues = Float32Array.from({ length: s }, (_, k) => 2 ** k);

  const contexts = (params: Params, layer: string, x: tf.Tensor): tf.Tensor2D =>
    tf.tidy(() => {
      const L = glnLayers.find((g) => g.name === layer);
      if (!L?.gated) throw new Error(`${layer} is not a gated layer`);
      const b = x.shape[0]!;
      if (s === 0) return tf.zeros([b, L.units], 'int32') as tf.Tensor2D;
      const proj = tf.matMul(x.reshape([b, inputSize]) as tf.Tensor2D, params[`${layer}/gateU`] as tf.Tensor2D);
      const bits = tf.cast(tf.greater(proj, params[`${layer}/gateT`]!), 'float32').reshape([b, L.units, s]);
      return tf.cast(tf.sum(tf.mul(bits, tf.tensor1d(bitValues)), -1), 'int32') as tf.Tensor2D;
    });

  const init = (rng: Rng): Params => {
    const p = initParams(
      Object.fromEntries(Object.entries(specs).filter(([k]) => k.endsWith('/W'))),
      rng,
      opts.init,
      opts.initScale,
      opts.initRank,
    );
    for (const L of glnLayers) {
      if (!L.gated || s === 0) continue;
      const m = L.units * s;
      const U = rng.normals(inputSize * m, 1);
      let T: Float32Array;
      if (opts.threshold === 'random') {
        T = rng.normals(m, RANDOM_THRESHOLD_STD);
      } else {
        const xs = data.trainInputs!();
        const n = xs.shape[0]!;
        const proj = tf.tidy(() => tf.matMul(xs.reshape([n, inputSize]) as tf.Tensor2D, tf.tensor2d(U, [inputSize, m])));
        T = columnMedians(proj.dataSync() as Float32Array, n, m);
        proj.dispose();
      }
      p[`${L.name}/gateU`] = tf.tensor2d(U, [inputSize, m]);
      p[`${L.name}/gateT`] = tf.tensor1d(T);
    }
    return p;
  };

  return {
    name: 'gln',
    homogeneity: glnLayers.length,
    gated: { layers: glnLayers, contexts },
    specs,
    layers,
    init,
    forward(params, x, fwd = {}) {
      const ops = fwd.ops ?? plainOps;
      const b = x.shape[0]!;
      const raw = x.reshape([b, inputSize]) as tf.Tensor2D;
      const trace: LayerTrace[] = [];
      let h = raw;
      glnLayers.forEach((L, l) => {
        const input = h;
        let pre = ops.dense(L.name, input, params[`${L.name}/W`] as tf.Tensor2D);
        if (L.contexts > 1) {
          const g = tf.oneHot(contexts(params, L.name, raw), L.contexts);
          pre = tf.sum(tf.mul(pre.reshape([b, L.units, L.contexts]), g), -1) as tf.Tensor2D;
        }
        h = (l < glnLayers.length - 1 ? ops.hidden(L.name, pre) : ops.output(pre)) as tf.Tensor2D;
        trace.push({ name: L.name, input, pre, post: h });
      });
      return { output: h, trace };
    },
  };
}

export const gln = defineModel({
  name: 'gln',
  description: 'gated linear network: each unit picks one of 2^s weight vectors by s fixed random hyperplanes on the raw input (--gates, --hidden)',
  reference: 'Lippl, Abbott, Chung 2022',
  options: glnOptions,
  create: (o, data) => createGln(o, data),
});
