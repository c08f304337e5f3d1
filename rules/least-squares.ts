/**
 * What the target-based rules (FORCE, full-FORCE) share. They run each trial
 * of the batch forward one time step at a time on the per-step scan, with the
 * weights they learn carried along and changed during the trial by recursive
 * least squares (src/rls.ts), so the output at every step is the a-priori one
 * of the papers. The update they return is the change over the batch, and they
 * apply no optimizer.
 *
 * Sign constraints (Dale's law: `--dale` on the model) are kept in one of two
 * ways (`--dale-solver`). `nnls` (the default) accumulates the normal equations
 * G = αI + Σ rᵀr and B = Σ rᵀf at the update times and, every `--solve-every`
 * steps and at the end of each trial, solves the sign-constrained least squares
 * for all postsynaptic units at once, warm-started (src/nnls.ts; Ingrosso &
 * Abbott 2019's windowed solve). It minimises the same cost as RLS, Σ‖rM − f‖²
 * + α‖M‖², under the signs. `projected` takes the RLS step and then sets
 * wrong-signed entries to 0 (their cheaper baseline). Under RLS a mask
 * (sparse J) only restricts which entries the network uses, with one P shared
 * by all of them; the NNLS solve keeps masked entries at 0.
 */
import * as tf from '@tensorflow/tfjs';
import { recurrentOf } from '../src/capabilities.js';
import { constrainedLeastSquares } from '../src/nnls.js';
import { option, parse } from '../src/options.js';
import { rlsCorrection, rlsStep, symmetrize, updateNow, type RlsSchedule } from '../src/rls.js';
import type { Rng } from '../src/rng.js';
import type { Batch, Model, Params, Recurrent, StepNoise } from '../src/types.js';

/** How sign-constrained (Dale) weights learn; the rules share these options. */
export const signOptions = [
  option(
    'daleSolver',
    '--dale-solver <how>',
    'with --dale on the model: nnls (sign-constrained least squares on the accumulated Σ rᵀr, Σ rᵀf, solved every --solve-every steps; Ingrosso & Abbott 2019) or projected (an RLS step, then wrong signs set to 0)',
    'nnls' as 'nnls' | 'projected',
    parse.choice(['nnls', 'projected'] as const),
  ),
  option('solveEvery', '--solve-every <k>', 'with --dale-solver nnls: time steps between solves, and one at the end of every trial (1 s at dt 1 ms: 1000)', 1000, parse.positiveInt),
] as const;

/** Whether the rule solves sign-constrained least squares (a model with constraints on the learned weights, solver nnls). */
export function usesNnls(model: Model, learnedNames: string[], solver: 'nnls' | 'projected'): boolean {
  return solver === 'nnls' && learnedNames.some((name) => model.specs[name]?.constraint);
}

/** The normal equations of the sign-constrained solve: G = λ-weighted αI + Σ rᵀr, and B = Σ rᵀf per learned matrix. */
export interface NormalEquations {
  G: tf.Tensor2D;
  B: Record<string, tf.Tensor2D>;
}

/** The rule-state tensors of the normal equations: G, and B under `B:<weight>`. */
export function normalState(n: number, alpha: number, outputs: Record<string, number>): Record<string, tf.Tensor> {
  return {
    G: tf.tidy(() => tf.mul(tf.eye(n), alpha)),
    ...Object.fromEntries(Object.entries(outputs).map(([name, m]) => [`B:${name}`, tf.zeros([n, m])])),
  };
}

export function normalFromState(tensors: Record<string, tf.Tensor>, names: string[]): NormalEquations {
  return { G: tf.clone(tensors['G']!) as tf.Tensor2D, B: Object.fromEntries(names.map((name) => [name, tf.clone(tensors[`B:${name}`]!) as tf.Tensor2D])) };
}

export function normalToState(eq: NormalEquations): Record<string, tf.Tensor> {
  return { G: eq.G, ...Object.fromEntries(Object.entries(eq.B).map(([name, b]) => [`B:${name}`, b])) };
}

/** Adds the sample r with each matrix's target f (forgetting factor λ: the past counts λ times less). */
export function accumulate(eq: NormalEquations, r: tf.Tensor2D, targets: Record<string, tf.Tensor2D>, forgetting: number): NormalEquations {
  const decay = (t: tf.Tensor2D) => (forgetting === 1 ? t : (tf.mul(t, forgetting) as tf.Tensor2D));
  return {
    G: tf.add(decay(eq.G), tf.matMul(r, r, true, false)) as tf.Tensor2D,
    B: Object.fromEntries(Object.entries(eq.B).map(([name, b]) => [name, tf.add(decay(b), tf.matMul(r, targets[name]!, true, false)) as tf.Tensor2D])),
  };
}

/** Iterations at most per solve; warm starts need far fewer once learning settles. */
const SOLVE_ITERATIONS = 500;

/** Solves every learned matrix's sign-constrained least squares from its current value; `masks` zero entries the network does not use. */
export function solveConstrained(model: Model, eq: NormalEquations, current: Record<string, tf.Tensor>, masks: Record<string, tf.Tensor | undefined>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, B] of Object.entries(eq.B)) {
    const mask = masks[name];
    const project = (m: tf.Tensor2D) => {
      const p = constrained(model, name, m) as tf.Tensor2D;
      return mask ? (tf.mul(p, mask) as tf.Tensor2D) : p;
    };
    out[name] = constrainedLeastSquares(eq.G, B, current[name] as tf.Tensor2D, { project, maxIterations: SOLVE_ITERATIONS, tolerance: 1e-5 }).M;
  }
  return out;
}

/** Whether step t of a trial of T steps ends a solve window. */
export const solveNow = (t: number, T: number, every: number) => (t + 1) % every === 0 || t === T - 1;

/** One trial of a batch, time step by time step. */
export interface TrialView {
  inputs: tf.Tensor2D[];
  targets: tf.Tensor2D[];
  /** Hint channels [1, hints] per step (tasks with hints). */
  hints: tf.Tensor2D[] | null;
  /** Loss mask per step (0: padding or a period that does not count; no update there). */
  mask: number[];
  noise: StepNoise[];
}

/** The trials of a batch, each [1, …] per step, with the student's training noise of this step. */
export function trialsOf(batch: Batch, recurrent: Recurrent, noise: Rng | undefined): TrialView[] {
  const [B, T] = batch.x.shape as [number, number, number];
  const mask = batch.mask ? (batch.mask.arraySync() as number[][]) : null;
  return Array.from({ length: B }, (_, b) => {
    const slice = (t: tf.Tensor) => tf.unstack(tf.slice(t, [b, 0, 0], [1, -1, -1]).squeeze([0]), 0).map((v) => tf.reshape(v, [1, -1]) as tf.Tensor2D);
    return {
      inputs: slice(batch.x),
      targets: slice(batch.y),
      hints: batch.hints ? slice(batch.hints) : null,
      mask: mask ? mask[b]! : new Array<number>(T).fill(1),
      noise: recurrent.noise(noise, 1, T),
    };
  });
}

/** A learned matrix after an update, projected onto the model's constraint on it (Dale signs), if any. */
export function constrained(model: Model, name: string, value: tf.Tensor): tf.Tensor {
  const c = model.specs[name]?.constraint;
  return c ? c.project(value) : value;
}

/** The update times of one trial of T steps, drawn up front from the rule's stream (random schedules). */
export function updateTimes(schedule: RlsSchedule, mask: number[], rng: Rng): boolean[] {
  return mask.map((m, t) => updateNow(schedule, t, () => rng.uniform()) && m > 0);
}

/** P after `count` updates: symmetrised every `every` of them, against float32 drift. */
export function keepSymmetric(P: tf.Tensor2D, count: number, every: number): tf.Tensor2D {
  return every > 0 && count % every === 0 ? symmetrize(P) : P;
}

/** One RLS step on r and the change −gain·e of each learned matrix for its a-priori error e (shared P). */
export function rlsUpdate(P: tf.Tensor2D, r: tf.Tensor2D, errors: tf.Tensor2D[], forgetting: number): { P: tf.Tensor2D; corrections: tf.Tensor2D[]; gain: tf.Tensor2D } {
  const s = rlsStep(P, r, forgetting);
  return { P: s.P, gain: s.gain, corrections: errors.map((e) => rlsCorrection(s.gain, e)) };
}

/** The roles of a recurrent model the rules learn: its readout, and J. */
export function learned(model: Model): { recurrent: Recurrent; J: string; W: string } {
  const recurrent = recurrentOf(model);
  return { recurrent, J: recurrent.roles.recurrent, W: recurrent.roles.readout };
}

/** Sums of a batch's step metrics, turned into the means a RuleStep reports. */
export class StepSums {
  private readonly sums = new Map<string, tf.Tensor>();
  private readonly counts = new Map<string, number>();

  add(name: string, value: tf.Tensor, count = 1): void {
    const prev = this.sums.get(name);
    this.sums.set(name, prev ? tf.keep(tf.add(prev, value)) : tf.keep(tf.clone(value)));
    prev?.dispose();
    this.counts.set(name, (this.counts.get(name) ?? 0) + count);
  }

  means(): Record<string, tf.Scalar> {
    const out: Record<string, tf.Scalar> = {};
    for (const [name, sum] of this.sums) {
      out[name] = tf.div(sum, Math.max(1, this.counts.get(name)!)) as tf.Scalar;
      sum.dispose();
    }
    return out;
  }
}

/** The learned weights' change over the batch (what the trainer adds) and their Frobenius norms after it. */
export function changes(before: Params, after: Params): { updates: Params; norms: Record<string, tf.Scalar> } {
  const updates: Params = {};
  const norms: Record<string, tf.Scalar> = {};
  for (const [name, value] of Object.entries(after)) {
    updates[name] = tf.sub(value, before[name]!);
    norms[name] = tf.norm(value) as tf.Scalar;
  }
  return { updates, norms };
}

/** Stacks the a-priori outputs of each trial, [T, outputs] each, into the batch output [B, T, outputs]. */
export function batchOutput(trials: tf.Tensor2D[][]): tf.Tensor {
  return tf.stack(trials.map((outs) => tf.concat(outs, 0)));
}

