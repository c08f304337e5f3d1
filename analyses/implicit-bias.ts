/**
 * Implicit bias of gradient descent on gated linear networks (Lippl, Abbott,
 * Chung 2022): compares the trained network with the max-margin predictors
 * the theory says its direction converges to on separable data under the
 * logistic loss.
 *
 * - One gated layer (shallow GLN, `--hidden ''`): an independent hard-margin
 *   SVM per context, min Σ_c ‖w_c‖².
 * - One gated hidden layer and a linear readout: the group-norm problem
 *   min Σ_h (Σ_c ‖β_hc‖²)^½ with β_hc = a_h w_hc, and for contrast the plain L2
 *   max-margin predictor min Σ_hc ‖β_hc‖² over the same function class.
 *
 * For each: test error, training error, inconsistency with the trained network
 * (fraction of test points whose predicted signs differ), its normalized
 * margin as a network of the same architecture (deep: ‖θ‖² = 2 Σ_h ‖β_h‖ at
 * best, so γ = 1/(2 Σ_h ‖β_h‖); shallow: γ = 1/‖w‖), and the cosine between
 * its β and the trained network's. The trained network's normalized margin
 * min_i y_i f(x_i)/‖θ‖^L is measured on the whole training split; its history
 * comes from the `margin` analysis recorded during training, if any.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineAnalysis, type Figure, type RunAnalysis } from '../src/analysis/contract.js';
import { inputsOf } from '../src/data.js';
import { gatedOf } from '../src/capabilities.js';
import { UsageError } from '../src/errors.js';
import { groupColor } from '../src/plots.js';
import type { Dataset, GatedContexts, Model, Params, Split } from '../src/types.js';
import { normalizedMargin } from './margin.js';
import { groupNormMaxMargin, l2MaxMargin, predictGated, unitNorms, type GatedData, type MaxMarginResult } from './maxmargin.js';

/** Largest training set the kernel solvers take (their memory and time grow with n²). */
export const MAX_IMPLICIT_BIAS_POINTS = 6000;

export interface PredictorResult {
  trainError: number;
  testError: number;
  /** Fraction of test points where its sign differs from the trained network's. */
  inconsistency: number;
  /** Normalized margin of the predictor as a network of the same architecture. */
  normalizedMargin: number;
  /** Cosine between its β and the trained network's. */
  cosine: number;
  /** Objective at margin 1 and a lower bound on the optimum (duality). */
  objective: number;
  lowerBound: number;
  converged: boolean;
  separable: boolean;
  iterations: number;
}

export interface ImplicitBiasResult {
  kind: 'shallow' | 'deep';
  trainPoints: number;
  testPoints: number;
  units: number;
  contexts: number;
  gd: { trainError: number; testError: number; normalizedMargin: number; degree: number };
  /** Per-context SVM (shallow) or group-norm predictor (deep). */
  maxMargin: PredictorResult & { problem: string };
  /** The plain L2 max-margin predictor over the same class (deep only: for a shallow GLN it is maxMargin). */
  l2?: PredictorResult & { problem: string };
  /** Normalized margin over training, from the records of `--analyze margin`. */
  marginHistory: { step: number; normMargin: number }[];
  sec: number;
}

function allRows(dataset: Dataset, split: Split): { x: tf.Tensor2D; labels: Int32Array } {
  const n = dataset.size(split);
  const b = dataset.batch(split, Int32Array.from({ length: n }, (_, i) => i));
  const labels = Int32Array.from(b.y.dataSync());
  const inputs = inputsOf(b);
  const x = inputs.reshape([n, -1]) as tf.Tensor2D;
  if (x !== inputs) inputs.dispose();
  return { x, labels };
}

function modelOutputs(model: Model, params: Params, x: tf.Tensor2D): Float32Array {
  const out = tf.tidy(() => tf.reshape(model.forward(params, x).output, [-1]));
  const v = Float32Array.from(out.dataSync());
  out.dispose();
  return v;
}

function errorOf(f: ArrayLike<number>, labels: Int32Array): number {
  let wrong = 0;
  for (let i = 0; i < labels.length; i++) if (f[i]! > 0 !== (labels[i] === 1)) wrong++;
  return wrong / labels.length;
}

function disagreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! > 0 !== b[i]! > 0) d++;
  return d / a.length;
}

function cosine(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(a, b)), tf.mul(tf.norm(a), tf.norm(b))).dataSync()[0]!);
}

/** The trained network's β [C, D, H]: shallow β_c = W[:, c]; deep β_hc = a_h W0[:, h·C + c]. */
function trainedBeta(gated: GatedContexts, params: Params): tf.Tensor3D {
  return tf.tidy(() => {
    const first = gated.layers[0]!;
    const W0 = params[first.weight] as tf.Tensor2D;
    const D = W0.shape[0];
    const w = tf.reshape(W0, [D, first.units, first.contexts]); // [D, H, C]
    const scaled = gated.layers.length === 2 ? tf.mul(w, tf.reshape(params[gated.layers[1]!.weight]!, [1, first.units, 1])) : w;
    return tf.transpose(scaled, [2, 0, 1]) as tf.Tensor3D;
  });
}

function readMarginHistory(runDir: string): { step: number; normMargin: number }[] {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  const out: { step: number; normMargin: number }[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as { type?: string; step?: number; normMargin?: number };
      if (r.type === 'analysis' && typeof r.normMargin === 'number' && typeof r.step === 'number') out.push({ step: r.step, normMargin: r.normMargin });
    } catch {
      // A torn last line of a run that died mid-write: skip it.
    }
  }
  return out;
}

/** Checks that the run is a binary gated linear network the theory covers. */
export function checkImplicitBias(model: Model, dataset: Dataset): void {
  if (dataset.loss !== 'sigmoid-bce') throw new UsageError('--implicit-bias needs a two-class run with one sigmoid output (train with --binary A:B)');
  const L = gatedOf(model).layers;
  if (L.length > 2 || (L.length === 2 && !L[0]!.gated)) {
    throw new UsageError(`--implicit-bias covers a shallow GLN (--hidden '') or one gated hidden layer with a linear readout; this network has ${L.length - 1} hidden layers`);
  }
  const n = dataset.size('train');
  if (n > MAX_IMPLICIT_BIAS_POINTS) {
    throw new UsageError(`--implicit-bias solves kernel problems over all ${n} training examples (time and memory grow with n²); train with --train-size ≤ ${MAX_IMPLICIT_BIAS_POINTS}`);
  }
}

export function implicitBias(model: Model, params: Params, dataset: Dataset, runDir: string, progress?: (phase: string) => void): ImplicitBiasResult {
  const t0 = performance.now();
  checkImplicitBias(model, dataset);
  const gated = gatedOf(model);
  const deep = gated.layers.length === 2;
  const first = gated.layers[0]!;
  const train = allRows(dataset, 'train');
  const test = allRows(dataset, 'test');
  const held: tf.Tensor[] = [train.x, test.x];
  try {
    const fTrain = modelOutputs(model, params, train.x);
    const fTest = modelOutputs(model, params, test.x);
    const yTensor = tf.tensor1d(train.labels, 'int32');
    const gdMargin = normalizedMargin(model, params, train.x, yTensor);
    yTensor.dispose();
    const ctxTrain = gated.contexts(params, first.name, train.x);
    const ctxTest = gated.contexts(params, first.name, test.x);
    const gdBeta = trainedBeta(gated, params);
    held.push(ctxTrain, ctxTest, gdBeta);
    const data: GatedData = { x: train.x, y: Float64Array.from(train.labels, (l) => 2 * l - 1), contexts: ctxTrain, C: first.contexts };

    const summarize = (r: MaxMarginResult, margin: number): PredictorResult => {
      held.push(r.beta);
      const pTrain = predictGated(r.beta, train.x, ctxTrain);
      const pTest = predictGated(r.beta, test.x, ctxTest);
      return {
        trainError: errorOf(pTrain, train.labels),
        testError: errorOf(pTest, test.labels),
        inconsistency: disagreement(pTest, fTest),
        normalizedMargin: margin,
        cosine: cosine(r.beta, gdBeta),
        objective: r.objective,
        lowerBound: r.lowerBound,
        converged: r.converged,
        separable: r.separable,
        iterations: r.iterations,
      };
    };
    const groupMargin = (r: MaxMarginResult) => (r.separable ? 1 / (2 * (unitNorms(r.beta).reduce((a, b) => a + b, 0) / r.minMargin)) : NaN);
    let maxMargin: ImplicitBiasResult['maxMargin'];
    let l2: ImplicitBiasResult['l2'];
    if (deep) {
      progress?.('group-norm max-margin predictor');
      const g = groupNormMaxMargin(data);
      maxMargin = { problem: 'min Σ_h (Σ_c ‖β_hc‖²)^½ s.t. y_i f(x_i) ≥ 1', ...summarize(g, groupMargin(g)) };
      progress?.('L2 max-margin predictor');
      const r = l2MaxMargin(data);
      l2 = { problem: 'min Σ_hc ‖β_hc‖² s.t. y_i f(x_i) ≥ 1', ...summarize(r, groupMargin(r)) };
    } else {
      progress?.('per-context SVMs');
      const r = l2MaxMargin(data);
      maxMargin = { problem: 'min Σ_c ‖w_c‖² s.t. y_i f(x_i) ≥ 1 (an SVM per context)', ...summarize(r, r.separable ? 1 / Math.sqrt(2 * r.objective) : NaN) };
    }
    return {
      kind: deep ? 'deep' : 'shallow',
      trainPoints: train.labels.length,
      testPoints: test.labels.length,
      units: first.units,
      contexts: first.contexts,
      gd: { trainError: errorOf(fTrain, train.labels), testError: errorOf(fTest, test.labels), normalizedMargin: gdMargin.normMargin, degree: model.homogeneity! },
      maxMargin,
      ...(l2 ? { l2 } : {}),
      marginHistory: readMarginHistory(runDir),
      sec: (performance.now() - t0) / 1000,
    };
  } finally {
    tf.dispose(held);
  }
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
/** Numbers read back from JSON may be null where they were NaN (no max-margin predictor exists). */
const sci = (v: number | null) => (v !== null && Number.isFinite(v) ? v.toExponential(3) : '—');

/** The implicit-bias table of one run, as the paper reports it (test error, inconsistency with GD). */
export function implicitBiasText(a: RunAnalysis, ib: ImplicitBiasResult, labelled: boolean): string {
  const rows: string[][] = [['predictor', 'train err', 'test err', 'inconsistency', 'γ (normalized margin)', 'cos(β, β_GD)', 'duality gap']];
  rows.push(['gradient descent', pct(ib.gd.trainError), pct(ib.gd.testError), '—', sci(ib.gd.normalizedMargin), '1', '—']);
  const line = (name: string, p: NonNullable<typeof ib.l2>) =>
    rows.push([
      name + (p.separable ? (p.converged ? '' : ' (not converged)') : ' (data not separable)'),
      pct(p.trainError),
      pct(p.testError),
      pct(p.inconsistency),
      sci(p.normalizedMargin),
      p.cosine.toFixed(3),
      p.separable ? `${(((p.objective - p.lowerBound) / p.objective) * 100).toFixed(2)}%` : '—',
    ]);
  line(ib.kind === 'deep' ? 'group-norm max margin' : 'SVM per context', ib.maxMargin);
  if (ib.l2) line('L2 max margin', ib.l2);
  const head = `${labelled ? `${a.group}-s${a.seed}: ` : ''}implicit bias, ${ib.kind} GLN, ${ib.units} unit${ib.units > 1 ? 's' : ''} × ${ib.contexts} contexts, ${ib.trainPoints} training / ${ib.testPoints} test points`;
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  const body = rows.map((r) => r.map((c, j) => c.padEnd(widths[j]!)).join('  ').trimEnd()).join('\n');
  return `${head}\n${body}\n`;
}

/** The trained network's normalized margin over training, against the max-margin predictor's. */
function marginOverTraining(runs: { analysis: RunAnalysis; result: ImplicitBiasResult }[], groups: string[]): Figure | null {
  const values = runs.flatMap(({ analysis, result }) => result.marginHistory.filter((r) => r.step > 0).map((r) => ({ group: analysis.group, run: `${analysis.group}-s${analysis.seed}`, step: r.step, value: r.normMargin })));
  if (!values.length) return null;
  const targets = runs.filter(({ result }) => Number.isFinite(result.maxMargin.normalizedMargin)).map(({ analysis, result }) => ({ group: analysis.group, value: result.maxMargin.normalizedMargin }));
  return {
    title: 'Normalized margin over training (recorded by --analyze margin); dashed: the max-margin predictor’s',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 480,
      height: 260,
      layer: [
        {
          data: { values },
          mark: { type: 'line', point: false },
          encoding: {
            x: { field: 'step', type: 'quantitative', scale: { type: 'log' }, title: 'step' },
            y: { field: 'value', type: 'quantitative', title: 'min_i y_i f(x_i) / ‖θ‖^L' },
            color: groupColor(groups),
            detail: { field: 'run' },
          },
        },
        { data: { values: targets }, mark: { type: 'rule', strokeDash: [4, 3] }, encoding: { y: { field: 'value', type: 'quantitative' }, color: groupColor(groups) } },
      ],
    } as Figure['spec'],
  };
}

export const implicitBiasAnalysis = defineAnalysis({
  name: 'implicit-bias',
  key: 'implicitBias',
  description: 'gated linear networks (two classes): max-margin predictors gradient descent approaches (SVM per context; group norm for one hidden layer; plain L2), their test errors and inconsistency with the trained network',
  reference: 'Lippl, Abbott, Chung 2022; Lyu & Li 2020',
  requires: ['gated-contexts', 'homogeneous'],
  check: (model, dataset) => checkImplicitBias(model, dataset),
  run: (ctx) => implicitBias(ctx.model, ctx.params, ctx.dataset, ctx.runDir, ctx.progress),
  columns: [
    { key: 'gdTestError', title: 'GD test err %', digits: 2, scale: 100 },
    { key: 'mmTestError', title: 'max-margin err %', digits: 2, scale: 100 },
    { key: 'mmInconsistency', title: 'inconsist. %', digits: 2, scale: 100 },
    { key: 'l2TestError', title: 'L2 err %', digits: 2, scale: 100 },
    { key: 'l2Inconsistency', title: 'L2 inconsist. %', digits: 2, scale: 100 },
    { key: 'marginRatio', title: 'γ_GD/γ*', digits: 3 },
  ],
  numbers: (ib: ImplicitBiasResult) => ({
    gdTestError: ib.gd.testError,
    mmTestError: ib.maxMargin.testError,
    mmInconsistency: ib.maxMargin.inconsistency,
    marginRatio: ib.gd.normalizedMargin / ib.maxMargin.normalizedMargin,
    ...(ib.l2 ? { l2TestError: ib.l2.testError, l2Inconsistency: ib.l2.inconsistency } : {}),
  }),
  text: (a, ib, labelled) => implicitBiasText(a, ib, labelled),
  figures(runs, groups) {
    const f = marginOverTraining(runs, groups);
    return f ? [f] : [];
  },
});
