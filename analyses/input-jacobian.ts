/**
 * How a network compresses its input near the data (Chen, Recanatesi, Shea-Brown
 * 2023, arXiv 2310.01770). At each of the first --points examples x of --split,
 * for every hidden layer's representation h(x) (d numbers) and for the output,
 * the input Jacobian J = ∂h/∂x [d × D] and its singular values σ₁ ≥ … ≥ σ_m,
 * m = min(d, D), give
 *
 *   volumetric ratio       V = Σ_{i ≤ r} log σ_i, the log of the factor by which J
 *                          scales the volume of a small neighbourhood of x along
 *                          the r directions it keeps (r: σ_i > 10⁻³ σ₁; the rest
 *                          are below what the float32 Gram resolves);
 *   max local sensitivity  S = σ₁, the largest change of h per unit change of x;
 *   local dimensionality   PR = (Σ σ_i²)² / Σ σ_i⁴, the participation ratio of the
 *                          squared singular values,
 *
 * each averaged over the points (V as the mean of the logs). The paper reports
 * that sharper minima (larger Hessian trace) go with larger V and S, not PR. Its
 * code is not public: these are computed from its definitions.
 *
 * Row i of J is ∂h_i/∂x, the gradient of one unit: for each layer, one forward
 * pass on d copies of x and one backward pass of Σ_i h_i(copy i) give all d rows.
 *
 * The bound check (the paper's argument, after Ma & Ying 2021, for a network whose
 * first layer is dense, z₁ = x W₁ + b₁): with G = ∂f/∂z₁ [outputs × units], the
 * output's input Jacobian is J = G W₁ᵀ and its weight Jacobian has
 * ‖∂f/∂W₁‖_F = ‖x‖ ‖G‖_F, so σ₁(J) ≤ ‖W₁‖₂ ‖G‖_F = ‖W₁‖₂ ‖∂f/∂W₁‖_F / ‖x‖ at
 * every point, and over the points (Cauchy–Schwarz)
 *
 *   mean σ₁(J(x_i)) ≤ ‖W₁‖₂ √T / min_i ‖x_i‖,   T = mean_i ‖∂f(x_i)/∂W₁‖_F²,
 *
 * where T is the trace over W₁ of the Gauss–Newton matrix mean_i J_W₁ᵀJ_W₁: the
 * Hessian trace of the squared-error loss ½ mean ‖f − y‖² over W₁ at a minimum
 * with zero residual (the setting of the paper's bound), and at most the trace
 * over all parameters. G comes from one backward pass per point: the first
 * layer's product gets a zero offset ε, and Σ_c f_c(copy c) over one copy of x
 * per output is differentiated by ε.
 */
import * as tf from '@tensorflow/tfjs';
import { defineAnalysis } from '../src/analysis/contract.js';
import { layersOf } from '../src/capabilities.js';
import { plainOps, type LayerOps } from '../src/ops.js';
import { option, parse } from '../src/options.js';
import { groupColor } from '../src/plots.js';
import type { Model, Params } from '../src/types.js';
import { splitOption } from './common.js';
import { firstExamples, singularValues } from './geometry.js';

/** Singular values below this fraction of the largest are left out of V (the Gram of J resolves about 3.5·10⁻⁴). */
export const RANK_FLOOR = 1e-3;

export interface JacobianMeasures {
  /** Σ log σ_i over the σ_i above RANK_FLOOR·σ₁. */
  volume: number;
  /** σ₁. */
  sensitivity: number;
  /** (Σσ²)² / Σσ⁴. */
  dimensionality: number;
  /** How many σ_i entered V. */
  rank: number;
}

/** The three measures from singular values (any order). An all-zero Jacobian has V = −∞, S = 0 and PR = 0. */
export function jacobianMeasures(sigmas: readonly number[]): JacobianMeasures {
  const top = Math.max(0, ...sigmas);
  const kept = sigmas.filter((s) => top > 0 && s > RANK_FLOOR * top);
  const s2 = sigmas.reduce((a, s) => a + s * s, 0);
  const s4 = sigmas.reduce((a, s) => a + s ** 4, 0);
  return {
    volume: top > 0 ? kept.reduce((a, s) => a + Math.log(s), 0) : -Infinity,
    sensitivity: top,
    dimensionality: s4 > 0 ? (s2 * s2) / s4 : 0,
    rank: kept.length,
  };
}

/**
 * The input Jacobians [d × D] at one example x [1, …] of every hidden layer
 * (model.layers' hidden entries, unless `outputOnly`) and of the output (`output`),
 * in evaluation mode.
 */
export function inputJacobians(model: Model, params: Params, x: tf.Tensor, outputOnly = false): Record<string, tf.Tensor2D> {
  const D = x.size;
  const represent = (f: ReturnType<Model['forward']>, name: string) => (name === 'output' ? f.output : f.trace.find((t) => t.name === name)!.post);
  let sizes: [string, number][] = [];
  tf.tidy(() => {
    const f = model.forward(params, x, { training: false });
    const hidden = outputOnly ? [] : f.trace.filter((t) => layersOf(model).some((l) => l.hidden && l.name === t.name));
    sizes = [...hidden.map((t): [string, number] => [t.name, t.post.size]), ['output', f.output.size]];
  });
  const out: Record<string, tf.Tensor2D> = {};
  for (const [name, d] of sizes) {
    out[name] = tf.tidy(() => {
      const copies = tf.tile(x, [d, ...new Array<number>(x.rank - 1).fill(1)]);
      // Σ_i h_i(copy i): its gradient's row i is ∂h_i/∂x at x (a mask, not a gather: wasm has no gather gradient).
      const eye = tf.eye(d);
      const diagonalSum = (xs: tf.Tensor): tf.Scalar => tf.sum(tf.mul(represent(model.forward(params, xs, { training: false }), name).reshape([d, d]), eye));
      return tf.grad(diagonalSum)(copies).reshape([d, D]) as tf.Tensor2D;
    });
  }
  return out;
}

export interface SensitivityBound {
  /** The first layer's weight W₁. */
  weight: string;
  /** ‖W₁‖₂. */
  spectralNorm: number;
  minInputNorm: number;
  /** T = mean ‖∂f/∂W₁‖_F², the Gauss–Newton trace over W₁. */
  gaussNewtonTrace: number;
  /** ‖W₁‖₂ √T / min ‖x‖. */
  bound: number;
  /** The measured mean σ₁ of the output's input Jacobian. */
  sensitivity: number;
  holds: boolean;
}

/** ‖∂f/∂z₁‖_F² at one example x [1, …] of a network whose first layer `layer` is dense. */
function firstLayerGradientNorm(model: Model, params: Params, x: tf.Tensor, layer: string, units: number): number {
  return tf.tidy(() => {
    const k = model.forward(params, x, { training: false }).output.size;
    const copies = tf.tile(x, [k, ...new Array<number>(x.rank - 1).fill(1)]);
    const eye = tf.eye(k);
    const offsetSum = (eps: tf.Tensor): tf.Scalar => {
      const ops: LayerOps = { ...plainOps, dense: (name, a, w) => (name === layer ? tf.add(tf.matMul(a, w), eps) : tf.matMul(a, w)) as tf.Tensor2D };
      return tf.sum(tf.mul(model.forward(params, copies, { training: false, ops }).output.reshape([k, k]), eye));
    };
    const g = tf.grad(offsetSum)(tf.zeros([k, units]));
    return tf.sum(tf.square(g)).dataSync()[0]!;
  });
}

/** The bound check at the examples x; null when the first layer is not dense. */
export function sensitivityBound(model: Model, params: Params, x: tf.Tensor, sensitivity: number): SensitivityBound | null {
  const first = layersOf(model)[0]!;
  if (first.kind !== 'dense') return null;
  const w = params[first.weight] as tf.Tensor2D;
  const n = x.shape[0]!;
  let trace = 0;
  let minNorm = Infinity;
  for (let i = 0; i < n; i++) {
    const xi = x.slice([i], [1]);
    const norm2 = tf.tidy(() => tf.sum(tf.square(xi)).dataSync()[0]!);
    trace += (norm2 * firstLayerGradientNorm(model, params, xi, first.name, w.shape[1])) / n;
    minNorm = Math.min(minNorm, Math.sqrt(norm2));
    xi.dispose();
  }
  const spectralNorm = singularValues(w)[0]!;
  const bound = (spectralNorm * Math.sqrt(trace)) / minNorm;
  return { weight: first.weight, spectralNorm, minInputNorm: minNorm, gaussNewtonTrace: trace, bound, sensitivity, holds: sensitivity <= bound };
}

export interface InputJacobianResult {
  points: number;
  split: 'train' | 'test';
  /** Per layer (and `output`): the measures averaged over the points. */
  layers: Record<string, JacobianMeasures>;
  /** The output sensitivity against its bound (networks with a dense first layer). */
  bound: SensitivityBound | null;
}

export function inputJacobianMeasures(model: Model, params: Params, x: tf.Tensor, outputOnly = false): Record<string, JacobianMeasures> {
  const n = x.shape[0]!;
  const sums: Record<string, JacobianMeasures> = {};
  for (let i = 0; i < n; i++) {
    const xi = x.slice([i], [1]);
    const js = inputJacobians(model, params, xi, outputOnly);
    xi.dispose();
    for (const [layer, j] of Object.entries(js)) {
      const m = jacobianMeasures(singularValues(j));
      j.dispose();
      const s = (sums[layer] ??= { volume: 0, sensitivity: 0, dimensionality: 0, rank: 0 });
      s.volume += m.volume / n;
      s.sensitivity += m.sensitivity / n;
      s.dimensionality += m.dimensionality / n;
      s.rank += m.rank / n;
    }
  }
  return sums;
}

/** The output's three measures: table columns and training-time records. */
const OUTPUT_COLUMNS = [
  { key: 'outputVolume', title: 'output log-volume', digits: 2 },
  { key: 'outputSensitivity', title: 'output max sensitivity', digits: 3 },
  { key: 'outputDimensionality', title: 'output local dim', digits: 2 },
];

/** The table's numbers, also the names of the training-time records. */
function outputNumbers(o: JacobianMeasures, bound: SensitivityBound | null): Record<string, number> {
  return { outputVolume: o.volume, outputSensitivity: o.sensitivity, outputDimensionality: o.dimensionality, ...(bound ? { sensitivityBound: bound.bound } : {}) };
}

export const inputJacobian = defineAnalysis({
  name: 'input-jacobian',
  key: 'inputJacobian',
  description: 'singular values of the input Jacobian ∂h/∂x of every hidden layer and the output: volumetric ratio, maximum local sensitivity, local dimensionality (flatness vs compression); in training, the output\'s over the first --analyze-points training examples',
  reference: 'Chen, Recanatesi, Shea-Brown 2023 (arXiv 2310.01770); computed from its definitions (no public code)',
  // Feedforward layers: a recurrent network's representation is a whole trajectory (T·N numbers per example).
  requires: ['differentiable', 'layers'],
  options: [option('points', '--points <n>', 'the analysis averages over the first n examples of --split, in file order', 32, parse.positiveInt), splitOption],
  run(ctx, o): InputJacobianResult {
    const x = firstExamples(ctx.dataset, o.split, o.points);
    try {
      const layers = inputJacobianMeasures(ctx.model, ctx.params, x);
      return { points: x.shape[0]!, split: o.split, layers, bound: sensitivityBound(ctx.model, ctx.params, x, layers['output']!.sensitivity) };
    } finally {
      x.dispose();
    }
  },
  // During training: the output's measures and bound only (the hidden layers' d × d Grams cost most of a full run).
  measure(ctx) {
    const x = firstExamples(ctx.dataset, 'train', ctx.points);
    try {
      const layers = inputJacobianMeasures(ctx.model, ctx.params, x, true);
      return outputNumbers(layers['output']!, sensitivityBound(ctx.model, ctx.params, x, layers['output']!.sensitivity));
    } finally {
      x.dispose();
    }
  },
  columns: [...OUTPUT_COLUMNS, { key: 'sensitivityBound', title: 'sensitivity bound', digits: 3 }],
  numbers: (r: InputJacobianResult) => outputNumbers(r.layers['output']!, r.bound),
  overTraining(runs, groups) {
    const values = runs.flatMap((r) =>
      r.records.flatMap((h) => OUTPUT_COLUMNS.filter(({ key }) => Number.isFinite(h[key])).map(({ key, title }) => ({ group: r.group, seed: r.seed, epoch: h.epoch, measure: title, value: h[key] }))),
    );
    if (!values.length) return null;
    return {
      title: 'Compression of the output over training (recorded by --analyze-every)',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        data: { values },
        facet: { column: { field: 'measure', type: 'nominal', title: null, sort: OUTPUT_COLUMNS.map((c) => c.title) } },
        resolve: { scale: { y: 'independent' } },
        spec: {
          width: 200,
          height: 220,
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
            y: { aggregate: 'mean', field: 'value', type: 'quantitative', title: 'mean over seeds' },
            color: groupColor(groups),
          },
        },
      },
    };
  },
  setting: (_a, r: InputJacobianResult) =>
    r.bound
      ? `Output sensitivity ${r.bound.sensitivity.toPrecision(4)} ${r.bound.holds ? '≤' : '>'} its bound ‖W₁‖₂·√T/min‖x‖ = ${r.bound.spectralNorm.toPrecision(4)}·√${r.bound.gaussNewtonTrace.toPrecision(4)}/${r.bound.minInputNorm.toPrecision(4)} = ${r.bound.bound.toPrecision(4)} (T: Gauss–Newton trace over ${r.bound.weight}), over the first ${r.points} ${r.split} examples.`
      : `Over the first ${r.points} ${r.split} examples; no bound check (the first layer is not dense).`,
});
