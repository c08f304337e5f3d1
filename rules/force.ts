/**
 * FORCE learning (Sussillo & Abbott 2009, Neuron): a chaotic rate network
 * whose readout z = r W_out is fed back into every unit through fixed weights
 * (the model's output feedback) learns its readout by recursive least squares
 * while it runs, fast enough that the error, and so the difference between the
 * fed-back output and the target, stays small from the start. At every update
 * time, with the a-priori error e₋ = z_t − y_t of the output before the update:
 *
 *   k = P r,  c = 1/(1 + rᵀ k),  P ← P − c k kᵀ,  W_out ← W_out − c k e₋,
 *
 * P(0) = I/α (src/rls.ts). `--force-internal` also trains J, all-to-all with
 * the same P: every postsynaptic unit's incoming weights get the readout's
 * change (one output only), the paper's internal learning.
 *
 * The paper's network (Fig. 2, architecture A), the defaults here: N = 1000,
 * connection probability 0.1, g = 1.5, τ = 10 ms, feedback weights U(−1, 1),
 * W_out(0) = 0, tanh units, an update every 2 time steps, α = 1; trials start
 * from rest and a start pulse sets the phase (tasks `sum-of-sines`, `chirp`).
 * Under `--dale` the readout keeps its signs by projection after every RLS
 * step, or (`--dale-solver nnls`) by sign-constrained least squares solved
 * every `--solve-every` steps (rules/least-squares.ts), its weights fixed
 * in between.
 */
import * as tf from '@tensorflow/tfjs';
import { defineRule } from '../src/entries.js';
import { UsageError } from '../src/errors.js';
import { option, parse } from '../src/options.js';
import { rlsInit, rlsOptions, scheduleOptions } from '../src/rls.js';
import { scan } from '../src/scan.js';
import type { State } from '../src/types.js';
import {
  StepSums,
  accumulate,
  batchOutput,
  changes,
  constrained,
  keepSymmetric,
  learned,
  normalFromState,
  normalState,
  normalToState,
  rlsUpdate,
  signOptions,
  solveConstrained,
  solveNow,
  trialsOf,
  updateTimes,
  usesNnls,
  type NormalEquations,
} from './least-squares.js';

export const force = defineRule({
  name: 'force',
  description: 'FORCE: recursive least squares on the readout of a network whose output is fed back (--force-internal: J too, one shared P)',
  reference: 'Sussillo & Abbott 2009, Neuron',
  output: 'update',
  requires: ['recurrent', 'output-feedback'],
  // One trial per step, each seconds long: log every step; the BPTT gradient for the alignment diagnostic costs more than a step.
  defaults: { batchSize: 1, logEvery: 1, diagEvery: 0, model: { units: 1000, sparsity: 0.1, gain: 1.5, outputFeedback: 1, readoutScale: 0, activation: 'tanh', tau: 10 } },
  options: [...rlsOptions, ...scheduleOptions(2, 'fixed'), ...signOptions, option('internal', '--force-internal', 'also learn J, all-to-all, with the readout’s update for every unit (one output only)', false, parse.boolean)],
  create: (o) => ({
    check(model) {
      const { W } = learned(model);
      const outputs = model.specs[W]!.shape[1]!;
      if (o.internal && outputs !== 1) throw new UsageError(`--force-internal learns J from one output's error; this task has ${outputs} outputs`);
      if (o.internal && usesNnls(model, [W], o.daleSolver)) throw new UsageError('--force-internal changes J with every RLS step; under --dale use it with --dale-solver projected');
    },
    init(model, params) {
      const { W } = learned(model);
      const [n, outputs] = params[W]!.shape as [number, number];
      return { tensors: usesNnls(model, [W], o.daleSolver) ? normalState(n, o.rlsAlpha, { [W]: outputs }) : { P: rlsInit(n, o.rlsAlpha) } };
    },
    step(ctx) {
      const { model } = ctx;
      const { recurrent, J, W } = learned(model);
      const sums = new StepSums();
      const outputs: tf.Tensor2D[][] = [];
      let learnedNow: Record<string, tf.Tensor> = { [W]: tf.clone(ctx.params[W]!), ...(o.internal ? { [J]: tf.clone(ctx.params[J]!) } : {}) };
      const nnls = usesNnls(model, [W], o.daleSolver);
      let P = nnls ? null : (tf.clone(ctx.state.tensors['P']!) as tf.Tensor2D);
      // J is fixed unless --force-internal: what the step derives from it is computed once.
      const fixed = !o.internal && recurrent.prepare ? recurrent.prepare(ctx.params) : { params: ctx.params, prepared: [] };
      let eq: NormalEquations | null = nnls ? normalFromState(ctx.state.tensors, [W]) : null;
      for (const trial of trialsOf(ctx.batch, recurrent, ctx.noise)) {
        const times = updateTimes(o, trial.mask, ctx.rng);
        const outs: tf.Tensor2D[] = [];
        let count = 0;
        const T = trial.inputs.length;
        const start = { state: recurrent.initState(ctx.params, 1) as State, P, eq, w: learnedNow, sq: tf.scalar(0) as tf.Tensor, ratio: tf.scalar(0) as tf.Tensor };
        const end = scan(start, T, (c, t) => {
          const s = recurrent.step({ ...fixed.params, ...c.w }, c.state, trial.inputs[t]!, { noise: trial.noise[t] ?? {} });
          // The fed-back output is also in the next state: keep a copy of its own.
          outs.push(tf.keep(tf.clone(s.output)));
          const solved = (next: typeof c) => (next.eq && solveNow(t, T, o.solveEvery) ? { ...next, w: solveConstrained(model, next.eq, next.w, {}) } : next);
          if (!times[t]) return solved({ ...c, state: s.state });
          const e = tf.sub(s.output, trial.targets[t]!) as tf.Tensor2D;
          count++;
          if (c.eq) return solved({ ...c, state: s.state, eq: accumulate(c.eq, s.activity, { [W]: trial.targets[t]! }, o.forgetting), sq: tf.add(c.sq, tf.sum(tf.square(e))) });
          const u = rlsUpdate(c.P!, s.activity, [e], o.forgetting);
          const dW = u.corrections[0]!;
          const w: Record<string, tf.Tensor> = { [W]: constrained(model, W, tf.add(c.w[W]!, dW)) };
          // Internal learning: unit i's incoming weights J[:, i] change as the readout does (dW [N, 1] broadcast over columns).
          if (o.internal) w[J] = constrained(model, J, tf.add(c.w[J]!, dW));
          return {
            state: s.state,
            eq: null,
            P: keepSymmetric(u.P, count, o.symmetrizeEvery),
            w,
            sq: tf.add(c.sq, tf.sum(tf.square(e))),
            // c = 1/(1 + rᵀPr) = 1 − r·gain is the a-posteriori error over the a-priori one.
            ratio: tf.add(c.ratio, tf.sub(1, tf.sum(tf.matMul(s.activity, u.gain)))),
          };
        });
        sums.add('priorError', end.sq, count);
        if (!nnls) sums.add('errorRatio', end.ratio, count);
        tf.dispose([end.sq, end.ratio, ...Object.values(end.state)]);
        [P, eq, learnedNow] = [end.P, end.eq, end.w];
        outputs.push(outs);
      }
      const output = batchOutput(outputs);
      tf.dispose([...outputs.flat(), ...fixed.prepared]);
      const { updates, norms } = changes(ctx.params, learnedNow);
      const metrics = { ...sums.means(), readoutNorm: norms[W]!, ...(o.internal ? { recurrentNorm: norms[J]! } : {}) };
      tf.dispose(Object.values(learnedNow));
      return { updates, loss: ctx.loss.value(output, ctx.batch), output, state: { tensors: eq ? normalToState(eq) : { P: P! } }, metrics };
    },
  }),
});
