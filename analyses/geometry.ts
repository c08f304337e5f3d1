/**
 * Geometry of learning: how far the weights moved, how many directions a
 * weight matrix or a layer's activity really uses, and the empirical neural
 * tangent kernel with its alignment to other kernels.
 *
 * Small spectral problems (Gram matrices of the shorter side of a weight, the
 * n × n tangent kernel) go to `symEigenvalues` in double precision; the large products
 * that build them are tfjs matMuls. Every function disposes the tensors it
 * makes and leaves its arguments alone.
 */
import * as tf from '@tensorflow/tfjs';
import { defineAnalysis } from '../src/analysis/contract.js';
import { selectParams } from '../src/analysis/hvp.js';
import { inputsOf } from '../src/data.js';
import { symEigenvalues } from '../src/linalg.js';
import { option, parse } from '../src/options.js';
import type { Dataset, Model, Params } from '../src/types.js';
import { surfaceOptions } from './common.js';

/** The tensor `name` of `params`, or an error naming the missing parameter. */
function param(params: Params, name: string, what: string): tf.Tensor {
  const t = params[name];
  if (!t) throw new Error(`${what} has no parameter ${name}; it has: ${Object.keys(params).join(', ')}`);
  return t;
}

/** Σ v², accumulated in double precision. */
function sumSquares(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return s;
}

/**
 * How far each named weight moved in training:
 *   distance = ‖W_T − W_0‖_F,   relative = ‖W_T − W_0‖_F / ‖W_0‖_F
 * (relative is NaN when ‖W_0‖_F = 0, e.g. for zero-initialised biases).
 */
export function weightChange(init: Params, final: Params, names: string[]): Record<string, { distance: number; relative: number }> {
  const out: Record<string, { distance: number; relative: number }> = {};
  for (const name of names) {
    const w0 = param(init, name, 'init');
    const wT = param(final, name, 'final');
    if (!tf.util.arraysEqual(w0.shape, wT.shape)) {
      throw new Error(`weightChange: ${name} has shape [${w0.shape}] at init but [${wT.shape}] at the end`);
    }
    const distance = Math.sqrt(tf.tidy(() => sumSquares(tf.sub(wT, w0).dataSync())));
    const initNorm = Math.sqrt(sumSquares(w0.dataSync()));
    out[name] = { distance, relative: initNorm === 0 ? NaN : distance / initNorm };
  }
  return out;
}

/**
 * Effective rank of a weight (Roy & Vetterli 2007):
 *   erank(W) = exp(H(p)),  p_i = σ_i / Σ_j σ_j,  H(p) = −Σ_i p_i log p_i,
 * over the singular values σ of W as a matrix: a 2-D [fanIn, fanOut] weight as
 * it is, a conv weight [kh, kw, in, out] (any rank ≥ 2) as [kh·kw·in, out].
 * Lies in [1, min(rows, cols)]; 0 for an all-zero matrix, NaN if W is not finite.
 *
 * σ_i = sqrt(max(λ_i, 0)) for the eigenvalues λ of the Gram matrix of the
 * shorter side (WᵀW or WWᵀ, a float32 matMul). Squaring limits the resolution:
 * singular values below about sqrt(ε₃₂)·σ_max (ε₃₂ = 2⁻²³) are lost in the
 * Gram's rounding, so a float matrix of exact rank r reads slightly above r
 * (e.g. ≈1.01 for a random 200 × 50 outer product), while matrices whose
 * singular values are all resolved come out to float32 accuracy.
 */
export function effectiveRank(w: tf.Tensor): number {
  if (w.rank < 2) throw new Error(`effectiveRank: expected a weight of rank ≥ 2, got shape [${w.shape}]`);
  const cols = w.shape[w.rank - 1]!;
  const sigmas = tf.tidy(() => singularValues(w.reshape([w.size / cols, cols]) as tf.Tensor2D));
  if (!sigmas.every(Number.isFinite)) return NaN;
  if (!((sigmas[0] ?? 0) > 0)) return 0;
  return Math.exp(entropy(sigmas));
}

/**
 * The singular values of a matrix, largest first: σ_i = sqrt(max(λ_i, 0)) for the
 * eigenvalues λ of the Gram matrix of its shorter side (a float32 matMul, then
 * `symEigenvalues` in double precision), min(rows, cols) of them. Values below about
 * sqrt(ε₃₂)·σ_max are lost in the Gram's rounding (see effectiveRank). NaN
 * throughout if the matrix is not finite.
 */
export function singularValues(m: tf.Tensor2D): number[] {
  const [rows, cols] = m.shape;
  const gram = tf.tidy(() => {
    // Gram of the shorter side: MᵀM [cols, cols] when tall, MMᵀ [rows, rows] when wide.
    const g = rows >= cols ? tf.matMul(m, m, true, false) : tf.matMul(m, m, false, true);
    return g.arraySync() as number[][];
  });
  if (!gram.every((row) => row.every(Number.isFinite))) return gram.map(() => NaN);
  // Average with the transpose: the solver reads an exactly symmetric matrix.
  const sym = gram.map((row, i) => row.map((v, j) => (v + gram[j]![i]!) / 2));
  const values = symEigenvalues(sym);
  // Eigenvalues within the solver's rounding (n·ε·‖G‖) are zeros it cannot tell apart from zero.
  const floor = sym.length * Number.EPSILON * Math.max(0, ...values.map(Math.abs));
  return values.map((l) => (l > floor ? Math.sqrt(l) : 0));
}

/** H(p) = −Σ p_i log p_i with p = v / Σv (v ≥ 0, Σv > 0); terms with p_i = 0 contribute 0. */
function entropy(v: readonly number[]): number {
  const total = v.reduce((a, b) => a + b, 0);
  let h = 0;
  for (const x of v) {
    if (x <= 0) continue;
    const p = x / total;
    h -= p * Math.log(p);
  }
  return h;
}

/**
 * Participation ratio of activity (Gao et al. 2017): with acts [N, ...]
 * flattened to X [N, D], centred over examples (X_c = X − mean), and
 * C = X_cᵀX_c / (N − 1),
 *   PR = (tr C)² / tr(C²) = (Σλ)² / Σλ²   (λ the eigenvalues of C),
 * between 1 (one direction) and D (isotropic). Here tr C = ‖X_c‖_F² / (N − 1) and
 * tr(C²) = ‖X_cᵀX_c‖_F² / (N − 1)², with ‖X_cᵀX_c‖_F = ‖X_cX_cᵀ‖_F so the smaller
 * of the D × D and N × N Grams is formed; the (N − 1)s cancel:
 *   PR = ‖X_c‖_F⁴ / ‖G‖_F².
 * 0 when the activity does not vary (C = 0). Throws if N < 2.
 */
export function participationRatio(acts: tf.Tensor): number {
  const n = acts.shape[0] ?? 0;
  if (n < 2) throw new Error(`participationRatio: needs at least 2 examples, got shape [${acts.shape}]`);
  const d = acts.size / n;
  return tf.tidy(() => {
    const x = acts.reshape([n, d]);
    const xc = tf.sub(x, tf.mean(x, 0, true));
    const g = d <= n ? tf.matMul(tf.transpose(xc), xc) : tf.matMul(xc, tf.transpose(xc));
    const trace = sumSquares(xc.dataSync());
    const gramSq = sumSquares(g.dataSync());
    if (trace === 0 || gramSq === 0) return 0;
    return (trace * trace) / gramSq;
  });
}

/**
 * The participation ratio (see `participationRatio`) of the post-activation
 * h_l of every hidden layer on the examples x, evaluated without training-time
 * noise: `model.forward(params, x, { training: false })`. Hidden layers are the
 * `model.layers` entries with `hidden` true when the model declares its layers,
 * otherwise every trace entry but the last (the output). Keyed by layer name.
 */
export function hiddenParticipationRatios(model: Model, params: Params, x: tf.Tensor): Record<string, number> {
  return tf.tidy(() => {
    const { trace } = model.forward(params, x, { training: false });
    const layers = model.layers;
    const hidden = layers ? trace.filter((t) => layers.some((l) => l.hidden && l.name === t.name)) : trace.slice(0, -1);
    const out: Record<string, number> = {};
    for (const t of hidden) out[t.name] = participationRatio(t.post);
    return out;
  });
}

/**
 * The class-summed empirical neural tangent kernel of the outputs f(x) [n, C]
 * on the n examples of x, over the parameters `names` (the others held fixed):
 *   K_ij = Σ_c ⟨∂f_c(x_i)/∂θ, ∂f_c(x_j)/∂θ⟩ = Σ_c (J_c J_cᵀ)_ij,
 * where row i of J_c [n, P] is ∂f_c(x_i)/∂θ, flattened over the chosen
 * parameters in the order of `names`. Each row is one backward pass from
 * output[0, c] of a forward pass on x_i alone (evaluation mode), so n·C
 * backward passes in all; only one class's J_c is held at a time, and K is
 * accumulated in double precision.
 */
export function tangentKernel(model: Model, params: Params, x: tf.Tensor, names: string[]): number[][] {
  if (names.length === 0) throw new Error('tangentKernel: no parameters given');
  const theta = names.map((n) => param(params, n, 'params'));
  const n = x.shape[0] ?? 0;
  if (n === 0) return [];
  const classes = tf.tidy(() => {
    const out = model.forward(params, x.slice([0], [1]), { training: false }).output;
    if (out.rank !== 2) throw new Error(`tangentKernel: expected outputs [n, C], got shape [${out.shape}]`);
    return out.shape[1]!;
  });
  const k = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let c = 0; c < classes; c++) {
    const block = tf.tidy(() => {
      const rows: tf.Tensor[] = [];
      for (let i = 0; i < n; i++) {
        const xi = x.slice([i], [1]);
        const fc = (...ws: tf.Tensor[]): tf.Scalar => {
          const p: Params = { ...params };
          names.forEach((name, j) => (p[name] = ws[j]!));
          return model.forward(p, xi, { training: false }).output.slice([0, c], [1, 1]).sum();
        };
        const grads = tf.grads(fc)(theta);
        rows.push(tf.concat(grads.map((g) => g.flatten())));
      }
      const j = tf.stack(rows);
      return tf.matMul(j, tf.transpose(j)).arraySync() as number[][];
    });
    for (let i = 0; i < n; i++) for (let m = 0; m < n; m++) k[i]![m]! += block[i]![m]!;
  }
  return k;
}

/**
 * Kernel alignment (Cristianini et al. 2002), the cosine between two kernels
 * seen as vectors:
 *   A(K₁, K₂) = ⟨K₁, K₂⟩_F / (‖K₁‖_F ‖K₂‖_F),  ⟨A, B⟩_F = Σ_ij A_ij B_ij.
 * 1 for kernels equal up to a positive factor; NaN if either is zero.
 */
export function kernelAlignment(a: number[][], b: number[][]): number {
  if (a.length !== b.length || a.some((row, i) => row.length !== b[i]!.length)) {
    throw new Error('kernelAlignment: the kernels differ in shape');
  }
  let ab = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((row, i) =>
    row.forEach((v, j) => {
      const u = b[i]![j]!;
      ab += v * u;
      aa += v * v;
      bb += u * u;
    }),
  );
  return aa === 0 || bb === 0 ? NaN : ab / Math.sqrt(aa * bb);
}

export interface GeometryResult {
  /** ‖W_T − W_0‖_F and its ratio to ‖W_0‖_F, per weight. */
  weightChange?: Record<string, { distance: number; relative: number }>;
  effectiveRank: Record<string, number>;
  participationRatio: Record<string, number>;
  /** ⟨K_T, K_0⟩/(‖K_T‖‖K_0‖) of the class-summed tangent kernels on the first kernelPoints examples. */
  kernelAlignment?: number;
  kernelPoints: number;
}

/** The inputs of the first n examples of a split (all of them when it has fewer). */
export function firstExamples(dataset: Dataset, split: 'train' | 'test', n: number): tf.Tensor {
  const m = Math.min(n, dataset.size(split));
  return inputsOf(dataset.batch(split, Int32Array.from({ length: m }, (_, i) => i)));
}

export const geometry = defineAnalysis({
  name: 'geometry',
  key: 'geometry',
  description: 'weight change from init, effective ranks, participation ratios of the hidden layers, tangent-kernel alignment init → end',
  reference: 'Roy & Vetterli 2007 (effective rank); Baratin et al. 2021 (kernel alignment)',
  requires: ['differentiable'],
  options: [...surfaceOptions, option('kernelPoints', '--kernel-points <n>', 'examples for the tangent-kernel alignment', 20, parse.positiveInt)],
  check: (model, _dataset, o) => void selectParams(model, o.params ?? undefined),
  run(ctx, o): GeometryResult {
    const { model, params, init, dataset } = ctx;
    const names = selectParams(model, o.params ?? undefined);
    const weights = names.filter((n) => model.specs[n]?.role === 'weight');
    const effective: Record<string, number> = {};
    for (const w of weights) effective[w] = effectiveRank(params[w]!);
    const x = firstExamples(dataset, o.split, o.points);
    const kx = firstExamples(dataset, o.split, o.kernelPoints);
    try {
      const out: GeometryResult = {
        effectiveRank: effective,
        participationRatio: hiddenParticipationRatios(model, params, x),
        kernelPoints: kx.shape[0]!,
      };
      if (init) {
        out.weightChange = weightChange(init, params, weights);
        out.kernelAlignment = kernelAlignment(tangentKernel(model, init, kx, names), tangentKernel(model, params, kx, names));
      }
      return out;
    } finally {
      tf.dispose([x, kx]);
    }
  },
  columns: [
    { key: 'meanParticipationRatio', title: 'mean PR', digits: 2 },
    { key: 'kernelAlignment', title: 'kernel align', digits: 3 },
  ],
  numbers(r: GeometryResult) {
    const prs = Object.values(r.participationRatio);
    return {
      ...(r.kernelAlignment !== undefined ? { kernelAlignment: r.kernelAlignment } : {}),
      ...(prs.length ? { meanParticipationRatio: prs.reduce((x, y) => x + y, 0) / prs.length } : {}),
    };
  },
});
