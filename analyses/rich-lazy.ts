/**
 * Rich vs lazy learning of a recurrent network (Liu, Baratin, Cornford, Mihalas,
 * Shea-Brown, Lajoie 2023, arXiv 2310.08513; their code BioRNN_RichLazy): how
 * much training changed the recurrent weights and the network's kernels, on a
 * fixed probe set (the first --probe-trials trials of --probe-split, the same for
 * every run and for the step-0 and trained weights):
 *
 *   weight change            ‖J_T − J_0‖_F (and relative to ‖J_0‖_F);
 *   representation alignment A(K_0, K_T), K = H Hᵀ with H [trials × N] the
 *                            rates at each trial's last scored step (the end of
 *                            its decision period: the last step with a loss mask);
 *   tangent-kernel alignment A(Θ_0, Θ_T), Θ = G Gᵀ with row q of G the gradient
 *                            ∂z_q/∂J of output q, over every output unit at every
 *                            step of the first --kernel-trials probe trials;
 *   sign similarity          the fraction of (trial, scored step, unit) rates with
 *                            the same sign at init and after training (for ReLU
 *                            units: the same on/off pattern);
 *
 * with A(K₁, K₂) = ⟨K₁, K₂⟩_F / (‖K₁‖_F ‖K₂‖_F). Low alignments and large weight
 * change mean rich learning; alignments near 1, lazy learning.
 *
 * The rows of G come from vector–Jacobian products, one backward pass per trial
 * rather than per output: the model's population form evaluates Q = T·C copies of J
 * on the trial at once, and the gradient of Σ_q z_q(copy q) with respect to the
 * stacked copies is every output's ∂z_q/∂J (the mask of a sparse or Dale network
 * included, as in a training update of J).
 */
import * as tf from '@tensorflow/tfjs';
import { recurrentOf } from '../src/capabilities.js';
import { defineAnalysis } from '../src/analysis/contract.js';
import { UsageError } from '../src/errors.js';
import { option, parse } from '../src/options.js';
import type { Batch, Dataset, Model, Params } from '../src/types.js';
import { kernelAlignment, weightChange } from './geometry.js';

/** The rates [B, T, N] of a batch of trials, run step by step from the initial state (noise-free). */
export function trialRates(model: Model, params: Params, x: tf.Tensor): tf.Tensor3D {
  const rec = recurrentOf(model);
  const [batch, steps] = x.shape as [number, number, number];
  return tf.tidy(() => {
    let state = rec.initState(params, batch);
    const rates: tf.Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const input = tf.squeeze(x.slice([0, t, 0], [batch, 1, -1]), [1]) as tf.Tensor2D;
      const s = rec.step(params, state, input);
      state = s.state;
      rates.push(s.activity);
    }
    return tf.stack(rates, 1) as tf.Tensor3D;
  });
}

/** For each trial, the steps whose loss counts (any output; all steps when the batch has no mask), in time order. */
export function scoredSteps(batch: Batch): number[][] {
  const [b, steps] = batch.x.shape as [number, number, number];
  if (!batch.mask) return Array.from({ length: b }, () => Array.from({ length: steps }, (_, t) => t));
  const mask = batch.mask;
  const v = tf.tidy(() => mask.reshape([b, steps, -1]).max(2).dataSync());
  return Array.from({ length: b }, (_, i) => Array.from({ length: steps }, (_, t) => t).filter((t) => v[i * steps + t]! > 0));
}

/** A(H₀H₀ᵀ, H_THᵀ_T) for two activity matrices [trials, units] (rows: trials). */
export function representationAlignment(h0: number[][], hT: number[][]): number {
  const gram = (h: number[][]) => h.map((a) => h.map((b) => a.reduce((s, v, k) => s + v * b[k]!, 0)));
  return kernelAlignment(gram(h0), gram(hT));
}

/** The fraction of entries with equal signs (Math.sign: −1, 0, 1) in two equally long lists. */
export function signSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new Error(`signSimilarity: needs two equally long non-empty lists, got ${a.length} and ${b.length}`);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (Math.sign(a[i]!) === Math.sign(b[i]!)) same++;
  return same / a.length;
}

/**
 * Floats of J's gradient one backward pass may hold per step of the trial: tf.grad
 * keeps every step's contribution (copies × size of J) until the pass ends, so the
 * copies go in chunks (seq-MNIST with N = 300: 280 outputs, 26 copies per pass).
 */
const CHUNK_FLOATS = 2 ** 26;

/**
 * G [outputs, size of J]: the row of output q = t·C + c is ∂z_{t,c}/∂J on one trial
 * x [1, T, inputs], for the listed outputs (default: all T·C in order), from
 * backward passes through stacked copies of J, `chunk` outputs per pass (default:
 * as many as CHUNK_FLOATS allows).
 */
export function recurrentOutputGradients(model: Model, params: Params, x: tf.Tensor, outputs?: readonly number[], chunk?: number): tf.Tensor2D {
  const rec = recurrentOf(model);
  const name = rec.roles.recurrent;
  if (!model.populationForward) throw new UsageError(`analysis rich-lazy needs a model that evaluates stacked parameter sets (population form); model ${model.name} does not provide it`);
  const forward = model.populationForward.bind(model);
  const J = params[name]!;
  const q = tf.tidy(() => (forward(params, { [name]: J.expandDims(0) }, x) as tf.Tensor).size);
  const wanted = outputs ?? Array.from({ length: q }, (_, i) => i);
  const size = Math.max(1, Math.min(wanted.length, chunk ?? Math.floor(CHUNK_FLOATS / (J.size * (x.shape[1] ?? 1)))));
  const parts: tf.Tensor[] = [];
  try {
    for (let i0 = 0; i0 < wanted.length; i0 += size) {
      const k = Math.min(size, wanted.length - i0);
      parts.push(
        tf.tidy(() => {
          const copies = tf.tile(J.expandDims(0), [k, ...J.shape.map(() => 1)]);
          // Σ_c z_{wanted[i0+c]}(copy c): copy c's gradient is that output's ∂z/∂J (a mask, not a gather: wasm has no gather gradient).
          const pick = new Float32Array(k * q);
          for (let c = 0; c < k; c++) pick[c * q + wanted[i0 + c]!] = 1;
          const select = tf.tensor2d(pick, [k, q]);
          const picked = (js: tf.Tensor): tf.Scalar => tf.sum(tf.mul(forward(params, { [name]: js }, x).reshape([k, q]), select));
          return tf.grad(picked)(copies).reshape([k, J.size]);
        }),
      );
    }
    return tf.concat(parts, 0) as tf.Tensor2D;
  } finally {
    tf.dispose(parts);
  }
}

/**
 * Θ = G Gᵀ over the outputs of the given trials [M, T, inputs] (trial i's listed
 * outputs, default all T·C), one float32 product per pair of trials; every
 * trial's rows are held at once (outputs × size of J floats).
 */
export function recurrentTangentKernel(model: Model, params: Params, x: tf.Tensor, outputs?: readonly (readonly number[])[]): number[][] {
  const m = x.shape[0]!;
  const rows = Array.from({ length: m }, (_, i) => tf.tidy(() => recurrentOutputGradients(model, params, x.slice([i], [1]), outputs?.[i])));
  try {
    let total = 0;
    const offsets = rows.map((r) => (total += r.shape[0]) - r.shape[0]);
    const k = Array.from({ length: total }, () => new Array<number>(total).fill(0));
    for (let a = 0; a < m; a++) {
      for (let b = a; b < m; b++) {
        const [qa, qb] = [rows[a]!.shape[0], rows[b]!.shape[0]];
        const block = tf.tidy(() => tf.matMul(rows[a]!, rows[b]!, false, true).dataSync());
        for (let i = 0; i < qa; i++) for (let j = 0; j < qb; j++) k[offsets[a]! + i]![offsets[b]! + j] = k[offsets[b]! + j]![offsets[a]! + i] = block[i * qb + j]!;
      }
    }
    return k;
  } finally {
    tf.dispose(rows);
  }
}

export interface RichLazyResult {
  split: 'train' | 'test';
  probeTrials: number;
  kernelTrials: number;
  /** Which steps' outputs the tangent kernel runs over: every step, or the scored ones (a loss mask > 0). */
  kernelSteps: 'all' | 'scored';
  /** Outputs the tangent kernel runs over, all trials together. */
  kernelOutputs: number;
  weight: string;
  weightChange: number;
  relativeWeightChange: number;
  representationAlignment: number;
  kernelAlignment: number;
  signSimilarity: number;
}

/** The rates at the scored steps ([trials][steps·N], flattened) and at each trial's last scored step ([trials][N]). */
function scoredRates(model: Model, params: Params, batch: Batch, scored: number[][]): { all: number[]; last: number[][] } {
  const rates = trialRates(model, params, batch.x);
  const [, steps, n] = rates.shape;
  const v = rates.dataSync();
  rates.dispose();
  const row = (i: number, t: number) => Array.from(v.subarray((i * steps + t) * n, (i * steps + t + 1) * n));
  return {
    all: scored.flatMap((ts, i) => ts.flatMap((t) => row(i, t))),
    last: scored.map((ts, i) => row(i, ts.at(-1)!)),
  };
}

export function richLazy(
  model: Model,
  init: Params,
  final: Params,
  dataset: Dataset,
  split: 'train' | 'test',
  probeTrials: number,
  kernelTrials: number,
  kernelSteps: 'all' | 'scored' = 'all',
): RichLazyResult {
  const name = recurrentOf(model).roles.recurrent;
  const n = Math.min(probeTrials, dataset.size(split));
  const batch = dataset.batch(split, Int32Array.from({ length: n }, (_, i) => i));
  try {
    const scored = scoredSteps(batch);
    const empty = scored.findIndex((ts) => ts.length === 0);
    if (empty >= 0) throw new UsageError(`analysis rich-lazy: probe trial ${empty} of ${split} has no scored step (its loss mask is 0 throughout)`);
    const r0 = scoredRates(model, init, batch, scored);
    const rT = scoredRates(model, final, batch, scored);
    const kx = batch.x.slice([0], [Math.min(kernelTrials, n)]);
    try {
      const classes = dataset.outputSize;
      const outputs = kernelSteps === 'scored' ? scored.slice(0, kx.shape[0]).map((ts) => ts.flatMap((t) => Array.from({ length: classes }, (_, c) => t * classes + c))) : undefined;
      const k0 = recurrentTangentKernel(model, init, kx, outputs);
      const kT = recurrentTangentKernel(model, final, kx, outputs);
      const change = weightChange(init, final, [name])[name]!;
      return {
        split,
        probeTrials: n,
        kernelTrials: kx.shape[0]!,
        kernelSteps,
        kernelOutputs: k0.length,
        weight: name,
        weightChange: change.distance,
        relativeWeightChange: change.relative,
        representationAlignment: representationAlignment(r0.last, rT.last),
        kernelAlignment: kernelAlignment(k0, kT),
        signSimilarity: signSimilarity(r0.all, rT.all),
      };
    } finally {
      kx.dispose();
    }
  } finally {
    tf.dispose([batch.x, batch.y, ...(batch.mask ? [batch.mask] : []), ...(batch.hints ? [batch.hints] : [])]);
  }
}

export const richLazyAnalysis = defineAnalysis({
  name: 'rich-lazy',
  key: 'richLazy',
  description: 'rich vs lazy learning of a recurrent network: ‖ΔJ‖_F, representation and recurrent tangent-kernel alignment init → end, sign similarity of the activity, on a fixed probe set',
  reference: 'Liu, Baratin, Cornford, Mihalas, Shea-Brown, Lajoie 2023 (arXiv 2310.08513)',
  requires: ['recurrent', 'differentiable'],
  options: [
    option('probeTrials', '--probe-trials <n>', 'the probe set: the first n trials of --probe-split', 320, parse.positiveInt),
    option('kernelTrials', '--kernel-trials <n>', 'probe trials whose outputs the tangent kernel runs over', 32, parse.positiveInt),
    option('probeSplit', '--probe-split <split>', 'the split the probe trials come from: test (never trained on) or train', 'test' as 'train' | 'test', parse.choice(['train', 'test'] as const)),
    option(
      'kernelSteps',
      '--kernel-steps <steps>',
      'outputs of the tangent kernel: at every step (all; a loss over every step, as neurogym tasks) or only where the loss reads them (scored; sequential MNIST: the last row)',
      'all' as 'all' | 'scored',
      parse.choice(['all', 'scored'] as const),
    ),
  ],
  run(ctx, o): RichLazyResult {
    if (!ctx.init) throw new UsageError(`analysis rich-lazy compares with the step-0 parameters; ${ctx.runDir} has none saved (init/)`);
    return richLazy(ctx.model, ctx.init, ctx.params, ctx.dataset, o.probeSplit, o.probeTrials, o.kernelTrials, o.kernelSteps);
  },
  columns: [
    { key: 'weightChange', title: '‖ΔJ‖_F', digits: 3 },
    { key: 'representationAlignment', title: 'rep. align', digits: 3 },
    { key: 'recurrentKernelAlignment', title: 'NTK align (J)', digits: 3 },
    { key: 'signSimilarity', title: 'sign sim.', digits: 3 },
  ],
  numbers: (r: RichLazyResult) => ({
    weightChange: r.weightChange,
    representationAlignment: r.representationAlignment,
    recurrentKernelAlignment: r.kernelAlignment,
    signSimilarity: r.signSimilarity,
  }),
  setting: (_a, r: RichLazyResult) =>
    `Probe set: the first ${r.probeTrials} ${r.split} trials; tangent kernel over ${r.weight} on ${r.kernelOutputs} outputs (${r.kernelSteps === 'scored' ? 'scored steps' : 'every step'}) of the first ${r.kernelTrials}; representations at each trial's last scored step.`,
});
