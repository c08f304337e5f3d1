/**
 * Dale's law for weighted layers: every presynaptic unit is excitatory or
 * inhibitory, and all its outgoing weights carry that sign. Signs are kept by
 * projection after every update (W ← s ⊙ relu(s ⊙ W) with s the presynaptic
 * sign per row), so checkpoints hold the signed weights themselves and every
 * rule (bp, fa, dfa, sign-symmetry) trains them unchanged.
 *
 * Units: the first ⌈p·n⌉ of a layer are excitatory, the rest inhibitory
 * (PsychRNN's convention). Initialisation is balanced: each postsynaptic unit's
 * summed inhibitory weight magnitude equals its summed excitatory one, and the
 * matrix is rescaled to the Frobenius norm of the unconstrained draw.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from './errors.js';
import { option, parse } from './options.js';
import type { Constraint, Params, ParamSpec } from './types.js';

export const daleOption = option('dale', '--dale <fraction>', "fraction of excitatory units under Dale's law (0: no sign constraints)", 0, (raw) => {
  const v = parse.nonNegativeNumber(raw);
  if (v >= 1) throw new Error('must be a fraction of excitatory units in [0, 1) (0 turns Dale off)');
  return v;
});

/** +1 for the first ⌈p·n⌉ (excitatory) units, −1 for the rest. */
export function unitSigns(n: number, p: number, what: string): Float32Array {
  const nE = Math.ceil(p * n);
  if (nE >= n) throw new UsageError(`--dale ${p} with ${n} ${what} leaves no inhibitory unit`);
  return Float32Array.from({ length: n }, (_, j) => (j < nE ? 1 : -1));
}

/**
 * Rows of the weight (viewed as [rows, fanOut]) take the sign of their
 * presynaptic unit: ≥ 0 where `rowSigns` is +1, ≤ 0 where −1, exactly 0 where 0.
 */
export function signConstraint(name: string, rowSigns: Float32Array): Constraint {
  const view = (w: tf.Tensor) => [rowSigns.length, w.size / rowSigns.length];
  return {
    name,
    project: (w) =>
      tf.tidy(() => {
        const s = tf.tensor2d(rowSigns, [rowSigns.length, 1]);
        return tf.reshape(tf.mul(s, tf.relu(tf.mul(s, tf.reshape(w, view(w))))), w.shape);
      }),
    violations: (w) =>
      tf.tidy(() => {
        const s = tf.tensor2d(rowSigns, [rowSigns.length, 1]);
        const v = tf.reshape(w, view(w));
        const wrong = tf.logicalOr(tf.less(tf.mul(s, v), 0), tf.logicalAnd(tf.equal(s, 0), tf.notEqual(v, 0)));
        return tf.sum(tf.cast(wrong, 'int32')).dataSync()[0]!;
      }),
  };
}

/** A weight under Dale's law: its name and the sign of each row of its [rows, fanOut] view. */
export interface DaleWeight {
  weight: string;
  rowSigns: Float32Array;
}

/** Adds the sign constraint to each weight's spec. */
export function withDale(specs: Record<string, ParamSpec>, weights: DaleWeight[]): void {
  for (const w of weights) specs[w.weight] = { ...specs[w.weight]!, constraint: signConstraint(`dale:${w.weight}`, w.rowSigns) };
}

function l2(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/**
 * Scales, per postsynaptic column of a signed row-major [rows, cols] matrix, the
 * inhibitory rows' entries so that their summed magnitude equals the excitatory one.
 */
export function balanceInhibition(w: Float32Array, rowSigns: Float32Array): void {
  const rows = rowSigns.length;
  const cols = w.length / rows;
  if (!rowSigns.some((s) => s < 0)) return;
  for (let j = 0; j < cols; j++) {
    let e = 0;
    let inh = 0;
    for (let r = 0; r < rows; r++) (rowSigns[r]! > 0 ? (e += w[r * cols + j]!) : (inh -= w[r * cols + j]!));
    if (inh > 0) for (let r = 0; r < rows; r++) if (rowSigns[r]! < 0) w[r * cols + j]! *= e / inh;
  }
}

/** Signs, balance and rescaling of freshly drawn weights (replaces and disposes them in `params`). */
export function daleInit(params: Params, weights: DaleWeight[]): void {
  for (const { weight, rowSigns } of weights) {
    const t = params[weight]!;
    const rows = rowSigns.length;
    const cols = t.size / rows;
    const w = Float32Array.from(t.dataSync());
    const norm0 = l2(w);
    for (let k = 0; k < w.length; k++) w[k] = rowSigns[Math.floor(k / cols)]! * Math.abs(w[k]!);
    balanceInhibition(w, rowSigns);
    const norm1 = l2(w);
    if (norm1 > 0) for (let k = 0; k < w.length; k++) w[k]! *= norm0 / norm1;
    params[weight] = tf.tensor(w, t.shape);
    t.dispose();
  }
}
