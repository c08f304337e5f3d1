/**
 * Recursive least squares, the step of FORCE and full-FORCE (Sussillo & Abbott
 * 2009; DePasquale et al. 2018). After T samples r_t [1, N] with targets y_t,
 * the weights w [N, m] minimise
 *
 *   Σ_t λ^{T−t} ‖r_t w − y_t‖² + λ^T α ‖w − w₀‖²,
 *
 * computed online with the inverse correlation matrix P (P(0) = I/α): for a
 * sample r with a-priori error e₋ = r w − y (the output before the update),
 *
 *   k = P rᵀ,  c = 1/(λ + r k),  P ← (P − c k kᵀ)/λ,  w ← w − c k e₋.
 *
 * λ = 1 is the papers' RLS (no forgetting). `gain` is c·k, so the update of any
 * weight matrix read through r is −gain · e₋; weight matrices that share r
 * (full-FORCE's J and readout) share P. In float32 the subtraction drifts P off
 * symmetry and, over 10⁵ updates, off positive definiteness: `symmetrize` is
 * applied every few updates (the references in float64 never need it).
 */
import * as tf from '@tensorflow/tfjs';
import { option, parse } from './options.js';

/** P(0) = I/α: larger α, smaller initial steps (the papers' α, 1–100). */
export function rlsInit(n: number, alpha: number): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.eye(n), alpha));
}

export interface RlsStep {
  /** The updated inverse correlation matrix. */
  P: tf.Tensor2D;
  /** c·P rᵀ [N, 1]: a weight matrix w read through r changes by −gain · e₋. */
  gain: tf.Tensor2D;
}

/** One RLS step on the sample r [1, N] with forgetting factor λ (1: none). */
export function rlsStep(P: tf.Tensor2D, r: tf.Tensor2D, forgetting = 1): RlsStep {
  return tf.tidy(() => {
    const k = tf.matMul(P, r, false, true);
    const c = tf.div(1, tf.add(forgetting, tf.matMul(r, k)));
    const gain = tf.mul(k, c) as tf.Tensor2D;
    let next = tf.sub(P, tf.matMul(gain, k, false, true));
    if (forgetting !== 1) next = tf.div(next, forgetting);
    return { P: next as tf.Tensor2D, gain };
  });
}

/** The change −gain · e₋ of weights [N, m] for the a-priori error e₋ [1, m]. */
export function rlsCorrection(gain: tf.Tensor2D, error: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.neg(tf.matMul(gain, error)) as tf.Tensor2D);
}

/** (P + Pᵀ)/2: removes the asymmetry float32 rounding adds to P. */
export function symmetrize(P: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.add(P, tf.transpose(P)), 0.5));
}

/**
 * When the updates happen: every `every`-th step, or (`random`) at each step
 * with probability 1/`every` (full-FORCE's DTRLS), drawn from `uniform`.
 */
export interface RlsSchedule {
  updateEvery: number;
  updateTimes: 'fixed' | 'random';
}

export function updateNow(schedule: RlsSchedule, t: number, uniform: () => number): boolean {
  return schedule.updateTimes === 'random' ? uniform() < 1 / schedule.updateEvery : (t + 1) % schedule.updateEvery === 0;
}

/** How often a rule updates: its papers' schedules differ (FORCE every 2 steps; full-FORCE at random, 1 in 2). */
export const scheduleOptions = (every: number, times: 'fixed' | 'random') =>
  [
    option('updateEvery', '--update-every <k>', 'an RLS update every k time steps on average', every, parse.positiveInt),
    option('updateTimes', '--update-times <when>', 'fixed (every k-th step) or random (each step with probability 1/k, full-FORCE’s DTRLS)', times, parse.choice(['fixed', 'random'] as const)),
  ] as const;

/** The RLS options every least-squares rule shares. */
export const rlsOptions = [
  option('rlsAlpha', '--rls-alpha <α>', 'P(0) = I/α, the papers’ α (1–100): larger α, smaller early updates (tension’s alpha_P is 1/α)', 1, parse.positiveNumber),
  option('forgetting', '--forgetting <λ>', 'RLS forgetting factor λ in (0, 1]: sample t counts λ^(T−t) (1: none)', 1, (raw) => {
    const v = parse.positiveNumber(raw);
    if (v > 1) throw new Error('must be in (0, 1]');
    return v;
  }),
  option('symmetrizeEvery', '--symmetrize-every <n>', 'replace P by (P + Pᵀ)/2 every n updates, against float32 drift (0: never)', 100, parse.nonNegativeInt),
] as const;
