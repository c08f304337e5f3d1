/**
 * Dynamics of a trained rate RNN (models/rnn.ts), in double precision:
 *
 * - the eigenvalues of the effective recurrent matrix J ⊙ mask (the linearised
 *   dynamics around a state with f' = 1 are x ← (1 − α)x + α x J, stable while
 *   every eigenvalue has real part below 1);
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
import { rnnOf } from '../../models/rnn.js';
import type { ActivationName } from '../activations.js';
import { UsageError } from '../errors.js';
import type { Rng } from '../rng.js';
import type { Dataset, Model, Params, Split } from '../types.js';
import { participationRatio } from './geometry.js';
import { eigenvalues } from './linalg.js';

export interface DynamicsResult {
  /** Eigenvalues of J ⊙ mask. */
  eigenvalues: { re: number; im: number }[];
  spectralRadius: number;
  /** Largest real part (the linearised continuous-time dynamics are stable below 1). */
  maxRealPart: number;
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


export function rnnDynamics(
  model: Model,
  params: Params,
  dataset: Dataset,
  opts: { split: Split; points: number; steps: number; transient: number },
  rng: Rng,
): DynamicsResult {
  const rnn = rnnOf(model);
  if (!rnn) throw new UsageError(`--dynamics analyses recurrent networks (--model rnn); this run has model ${model.name}`);
  const n = rnn.units;
  const Jt = tf.mul(params['rnn/J']!, params['rnn/mask']!);
  const J = Float64Array.from(Jt.dataSync());
  Jt.dispose();
  const rows = Array.from({ length: n }, (_, j) => Array.from(J.subarray(j * n, (j + 1) * n)));
  const ev = eigenvalues(rows);
  const b = Float64Array.from(params['rnn/b']!.dataSync());
  const x0 = Float64Array.from(rng.normals(n, 1));
  const v0 = Float64Array.from(rng.normals(n, 1));
  const perStep = largestLyapunov(J, b, rnn.alpha, rnn.options.activation, x0, v0, opts.steps, opts.transient);
  const trials = Math.min(opts.points, dataset.size(opts.split));
  const batch = dataset.batch(opts.split, Int32Array.from({ length: trials }, (_, i) => i));
  let pr: number;
  let steps: number;
  try {
    // A task pads shorter trials to its longest; those steps are not activity of the trial.
    const T = batch.x.shape[1]!;
    const rows = Int32Array.from(Array.from({ length: trials }, (_, i) => Array.from({ length: batch.steps?.[i] ?? T }, (_, t) => i * T + t)).flat());
    const rates = tf.tidy(() => {
      const { trace } = model.forward(params, batch.x, { training: false });
      return tf.gather(tf.reshape(trace[0]!.post, [-1, n]), rows);
    });
    steps = rows.length;
    pr = participationRatio(rates);
    rates.dispose();
  } finally {
    tf.dispose([batch.x, batch.y, ...(batch.mask ? [batch.mask] : [])]);
  }
  const dtSec = (dataset.dtMs ?? 1) / 1000;
  return {
    eigenvalues: ev,
    spectralRadius: Math.max(...ev.map((e) => Math.hypot(e.re, e.im))),
    maxRealPart: Math.max(...ev.map((e) => e.re)),
    lyapunov: { perStep, perSecond: perStep / dtSec, steps: opts.steps, transient: opts.transient },
    participationRatio: pr,
    prSamples: { trials, steps },
  };
}
