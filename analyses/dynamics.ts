/**
 * Dynamics of a trained rate network (any model with a recurrent step and the
 * rate equation), in double precision:
 *
 * - the eigenvalues of the effective recurrent matrix J ⊙ mask (the linearised
 *   dynamics around a state with f' = 1 are x ← (1 − α)x + α x J, stable while
 *   every eigenvalue has real part below 1);
 * - the eigenvalues of diag(ḡ) (J ⊙ mask), ḡ_j the mean gain f'(x_j) of unit j
 *   over the trials' steps: the linearisation around the activity the task
 *   drives (in the papers' column form J·diag(φ'); Ingrosso & Abbott 2019 read
 *   E/I balance off it);
 * - the largest Lyapunov exponent of the autonomous network (no input, bias b):
 *   a tangent vector v is carried along a trajectory by the Jacobian
 *   D_t = (1 − α) I + α diag(f'(x_t)) J and renormalised every step (the QR
 *   method with one vector); λ = mean log growth per step, after a transient,
 *   also given per second (÷ dt). λ > 0: chaotic; λ < 0: trajectories converge;
 * - the participation ratio (Σλ)²/Σλ² of the covariance of the rates r_t over
 *   every step of the first trials of a split (a task's padding after a short
 *   trial left out): how many dimensions the recurrent activity occupies.
 */
import * as tf from '@tensorflow/tfjs';
import { defineAnalysis, type Figure } from '../src/analysis/contract.js';
import type { ActivationName } from '../src/activations.js';
import { rateOf, recurrentOf } from '../src/capabilities.js';
import { disposeBatch } from '../src/data.js';
import { eigenvalues } from '../src/linalg.js';
import { option, parse } from '../src/options.js';
import { groupColor } from '../src/plots.js';
import type { Rng } from '../src/rng.js';
import type { Dataset, Model, Params, Split } from '../src/types.js';
import { pointsOption, seedOption, splitOption } from './common.js';
import { participationRatio } from './geometry.js';

export interface DynamicsResult {
  /** Eigenvalues of J ⊙ mask. */
  eigenvalues: { re: number; im: number }[];
  spectralRadius: number;
  /** Largest real part (the linearised continuous-time dynamics are stable below 1). */
  maxRealPart: number;
  /** Eigenvalues of diag(ḡ)(J ⊙ mask), ḡ the mean gain f'(x) of each unit over the trials' steps, and their spectral radius. */
  gainEigenvalues: { re: number; im: number }[];
  gainSpectralRadius: number;
  lyapunov: { perStep: number; perSecond: number; steps: number; transient: number };
  participationRatio: number;
  /** Trials, and time steps summed over them, that the participation ratio was computed over. */
  prSamples: { trials: number; steps: number };
}

const SCALAR: Record<ActivationName, { f: (x: number) => number; df: (x: number) => number }> = {
  tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 },
  relu: { f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0) },
  softplus: { f: (x) => (x > 30 ? x : Math.log1p(Math.exp(x))), df: (x) => 1 / (1 + Math.exp(-x)) },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), df: (x) => (1 / (1 + Math.exp(-x))) * (1 - 1 / (1 + Math.exp(-x))) },
  linear: { f: (x) => x, df: () => 1 },
};

/** Largest Lyapunov exponent per step of x ← (1 − α)x + α(f(x)J + b), J row-major [N][N] (J[j][i]: j → i). */
export function largestLyapunov(J: Float64Array, b: Float64Array, alpha: number, act: ActivationName, x0: Float64Array, v0: Float64Array, steps: number, transient: number): number {
  const n = b.length;
  const { f, df } = SCALAR[act];
  let x = Float64Array.from(x0);
  let v = Float64Array.from(v0);
  let nx = new Float64Array(n);
  let nv = new Float64Array(n);
  const r = new Float64Array(n);
  const d = new Float64Array(n);
  const normalize = (u: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += u[i]! * u[i]!;
    const len = Math.sqrt(s);
    for (let i = 0; i < n; i++) u[i]! /= len;
    return len;
  };
  normalize(v);
  let sumLog = 0;
  for (let t = 0; t < transient + steps; t++) {
    for (let j = 0; j < n; j++) {
      r[j] = f(x[j]!);
      d[j] = df(x[j]!) * v[j]!;
    }
    for (let i = 0; i < n; i++) {
      nx[i] = (1 - alpha) * x[i]! + alpha * b[i]!;
      nv[i] = (1 - alpha) * v[i]!;
    }
    for (let j = 0; j < n; j++) {
      const rj = alpha * r[j]!;
      const dj = alpha * d[j]!;
      const row = j * n;
      for (let i = 0; i < n; i++) {
        const w = J[row + i]!;
        nx[i]! += rj * w;
        nv[i]! += dj * w;
      }
    }
    [x, nx] = [nx, x];
    [v, nv] = [nv, v];
    const growth = normalize(v);
    // A tangent vector mapped to zero (every unit silent under ReLU, say): perturbations die at once.
    if (growth === 0) return -Infinity;
    if (t >= transient) sumLog += Math.log(growth);
  }
  return sumLog / steps;
}


/** The activity f(x_{t+1}) and the potentials x_{t+1} of every step of a noise-free trial batch, each [B, T, N], stepped by the model itself. */
function activity(model: Model, params: Params, x: tf.Tensor): { rates: tf.Tensor; potentials: tf.Tensor } {
  const recurrent = recurrentOf(model);
  const { potential } = rateOf(model);
  return tf.tidy(() => {
    let state = recurrent.initState(params, x.shape[0]!);
    const rates: tf.Tensor[] = [];
    const potentials: tf.Tensor[] = [];
    for (const u of tf.unstack(x, 1) as tf.Tensor2D[]) {
      const s = recurrent.step(params, state, u);
      state = s.state;
      rates.push(s.activity);
      potentials.push(state[potential]!);
    }
    return { rates: tf.stack(rates, 1), potentials: tf.stack(potentials, 1) };
  });
}

export function rnnDynamics(
  model: Model,
  params: Params,
  dataset: Dataset,
  opts: { split: Split; points: number; steps: number; transient: number },
  rng: Rng,
): DynamicsResult {
  const { roles } = recurrentOf(model);
  const rate = rateOf(model);
  const Jt = roles.mask ? tf.mul(params[roles.recurrent]!, params[roles.mask]!) : params[roles.recurrent]!.clone();
  const n = Jt.shape[0]!;
  const J = Float64Array.from(Jt.dataSync());
  Jt.dispose();
  const rows = Array.from({ length: n }, (_, j) => Array.from(J.subarray(j * n, (j + 1) * n)));
  const ev = eigenvalues(rows);
  const b = roles.bias ? Float64Array.from(params[roles.bias]!.dataSync()) : new Float64Array(n);
  const x0 = Float64Array.from(rng.normals(n, 1));
  const v0 = Float64Array.from(rng.normals(n, 1));
  const perStep = largestLyapunov(J, b, rate.alpha, rate.activation.name, x0, v0, opts.steps, opts.transient);
  const trials = Math.min(opts.points, dataset.size(opts.split));
  const batch = dataset.batch(opts.split, Int32Array.from({ length: trials }, (_, i) => i));
  let pr: number;
  let steps: number;
  const gain = new Float64Array(n);
  try {
    // A task pads shorter trials to its longest; those steps are not activity of the trial.
    const T = batch.x.shape[1]!;
    const rows = Int32Array.from(Array.from({ length: trials }, (_, i) => Array.from({ length: batch.steps?.[i] ?? T }, (_, t) => i * T + t)).flat());
    const run = activity(model, params, batch.x);
    const [rates, potentials] = tf.tidy(() => [tf.gather(tf.reshape(run.rates, [-1, n]), rows), tf.gather(tf.reshape(run.potentials, [-1, n]), rows)]);
    tf.dispose([run.rates, run.potentials]);
    steps = rows.length;
    pr = participationRatio(rates);
    const { df } = SCALAR[rate.activation.name];
    const xs = potentials.dataSync();
    for (let k = 0; k < xs.length; k++) gain[k % n]! += df(xs[k]!) / steps;
    tf.dispose([rates, potentials]);
  } finally {
    disposeBatch(batch);
  }
  // Row j of J holds unit j's outgoing weights: diag(ḡ) J scales it by unit j's gain.
  const gainEv = eigenvalues(rows.map((row, j) => row.map((v) => gain[j]! * v)));
  const dtSec = (dataset.dtMs ?? 1) / 1000;
  return {
    eigenvalues: ev,
    spectralRadius: Math.max(...ev.map((e) => Math.hypot(e.re, e.im))),
    maxRealPart: Math.max(...ev.map((e) => e.re)),
    gainEigenvalues: gainEv,
    gainSpectralRadius: Math.max(...gainEv.map((e) => Math.hypot(e.re, e.im))),
    lyapunov: { perStep, perSecond: perStep / dtSec, steps: opts.steps, transient: opts.transient },
    participationRatio: pr,
    prSamples: { trials, steps },
  };
}

/** Eigenvalues of J in the complex plane, a panel per run, with the line Re = 1 (stability of the linearised dynamics). */
function eigenvalueFigure(runs: { group: string; label: string; result: DynamicsResult }[], groups: string[]): Figure | null {
  const values = runs.flatMap(({ group, label, result }) => result.eigenvalues.map((e) => ({ group, run: label, re: e.re, im: e.im })));
  if (!values.length) return null;
  return {
    title: 'Eigenvalues of the recurrent matrix J (dashed: Re λ = 1, where the linearised leaky dynamics lose stability)',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { values },
      // Wrapped three to a row: one row of a panel per run grows wider than any window.
      facet: { field: 'run', type: 'nominal', title: null },
      columns: 3,
      spec: {
        width: 220,
        height: 220,
        layer: [
          { mark: { type: 'point', filled: true, size: 14, opacity: 0.7 }, encoding: { x: { field: 're', type: 'quantitative', title: 'Re λ' }, y: { field: 'im', type: 'quantitative', title: 'Im λ' }, color: groupColor(groups) } },
          { data: { values: [{ re: 1 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { x: { field: 're', type: 'quantitative' } } },
        ],
      },
    } as Figure['spec'],
  };
}

export const dynamics = defineAnalysis({
  name: 'dynamics',
  key: 'dynamics',
  description: 'recurrent networks: eigenvalues of J and of diag(f′)J at the task’s activity, largest Lyapunov exponent of the autonomous network, participation ratio of the activity',
  reference: 'Sompolinsky, Crisanti, Sommers 1988; Gao et al. 2017 (participation ratio)',
  requires: ['recurrent', 'rate-dynamics'],
  options: [
    pointsOption,
    splitOption,
    option('lyapunovSteps', '--lyapunov-steps <n>', 'steps averaged for the Lyapunov exponent (after n/4 transient steps)', 2000, parse.positiveInt),
    seedOption,
  ],
  run: (ctx, o) => rnnDynamics(ctx.model, ctx.params, ctx.dataset, { split: o.split, points: o.points, steps: o.lyapunovSteps, transient: Math.ceil(o.lyapunovSteps / 4) }, ctx.rng),
  columns: [
    { key: 'spectralRadius', title: 'ρ(J)', digits: 3 },
    { key: 'gainSpectralRadius', title: 'ρ(diag(f′)J)', digits: 3 },
    { key: 'lyapunov', title: 'λ_Lyap (1/s)', digits: 2 },
    { key: 'activityPR', title: 'activity PR', digits: 2 },
  ],
  numbers: (r: DynamicsResult) => ({ spectralRadius: r.spectralRadius, gainSpectralRadius: r.gainSpectralRadius, lyapunov: r.lyapunov.perSecond, activityPR: r.participationRatio }),
  figures(runs, groups) {
    const f = eigenvalueFigure(runs.map(({ analysis, result }) => ({ group: analysis.group, label: `${analysis.group}-s${analysis.seed}`, result })), groups);
    return f ? [f] : [];
  },
});
