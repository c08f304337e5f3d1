/**
 * full-FORCE (DePasquale, Cueva, Rajan, Escola, Abbott 2018, PLoS ONE): a
 * random target-generating network D (the teacher, J^D = g·N(0, 1/N)) is
 * driven by the task input, by the desired output through fixed weights u_out
 * and by any hint signals through u_hint:
 *
 *   x^D ← x^D + α_D(−x^D + r^D J^D + y u_out + h u_hint + u W_in),   r^D = f(x^D),
 *
 * and the task network (the student: the model, J and W_out starting at 0, no
 * output feedback) learns, by recursive least squares with one P shared by
 * both, to produce the teacher's recurrent drive with its own J and the output
 * with its readout: at every update time, with r = r_{t+1} the student's rate
 * after its step and the a-priori errors
 *
 *   e_J = r J − (r^D_{t+1} J^D + y_t u_out + h_t u_hint),   e_W = r W_out − y_t,
 *   k = P r,  c = 1/(1 + rᵀk),  P ← P − c k kᵀ,  J ← J − c k e_J,  W_out ← W_out − c k e_W,
 *
 * the pairing of FF_Demo.py. Teacher and student share W_in (the MATLAB code
 * and the paper do; the Python demo gives the teacher its own). The teacher is
 * integrated exactly over each step (α_D = 1 − e^(−dt/τ), the MATLAB code; the
 * Python demo uses Euler: `--teacher-integration euler`), the student as the
 * model says, with its training noise. Every trial starts both networks from
 * rest (the references run one continuous simulation whose first trials let a
 * random initial state settle; from rest there is nothing to settle).
 *
 * Defaults, the oscillation demo's: N = 300, τ = 10 ms, tanh, g = 1.5, u_out
 * and u_hint U(−1, 1), P(0) = I (α = 1), an update at each step with
 * probability 1/2, one trial per step. Under `--dale` the student's J and
 * readout keep their signs: by sign-constrained least squares solved every
 * `--solve-every` steps (`--dale-solver nnls`), or by projection after every
 * RLS update (`projected`); see rules/least-squares.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { rateOf } from '../src/capabilities.js';
import { defineRule } from '../src/entries.js';
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

const uniform = (rng: { uniform(): number }, n: number, scale: number) => Float32Array.from({ length: n }, () => scale * (2 * rng.uniform() - 1));

export const fullForce = defineRule({
  name: 'full-force',
  description: 'full-FORCE: RLS trains J and the readout so the network reproduces a driven target-generating network’s recurrent drive and the output',
  reference: 'DePasquale, Cueva, Rajan, Escola, Abbott 2018, PLoS ONE',
  output: 'update',
  requires: ['recurrent', 'rate-dynamics'],
  // One trial per step, each seconds long: log every step; the BPTT gradient for the alignment diagnostic costs more than a step.
  defaults: { batchSize: 1, logEvery: 1, diagEvery: 0, model: { units: 300, gain: 0, readoutScale: 0, activation: 'tanh', tau: 10 } },
  options: [
    ...rlsOptions,
    ...scheduleOptions(2, 'random'),
    ...signOptions,
    option('teacherGain', '--teacher-gain <g>', 'gain g of the target-generating network J^D = g·N(0, 1/N)', 1.5, parse.nonNegativeNumber),
    option('teacherFeedback', '--teacher-feedback <s>', 'the desired output drives the teacher through u_out ~ U(−s, s)', 1, parse.positiveNumber),
    option('hintScale', '--hint-scale <s>', 'hint signals drive the teacher through u_hint ~ U(−s, s) (tasks with hints)', 1, parse.positiveNumber),
    option('teacherIntegration', '--teacher-integration <how>', 'exact (the MATLAB demos) or euler (the Python demo) integration of the teacher', 'exact' as 'exact' | 'euler', parse.choice(['exact', 'euler'] as const)),
  ],
  create: (o) => ({
    init(model, params, rng, data) {
      const { J, W } = learned(model);
      const [n, outputs] = params[W]!.shape as [number, number];
      const hints = data?.hints ?? 0;
      return {
        tensors: {
          ...(usesNnls(model, [J, W], o.daleSolver) ? normalState(n, o.rlsAlpha, { [J]: n, [W]: outputs }) : { P: rlsInit(n, o.rlsAlpha) }),
          JD: tf.tensor2d(rng.normals(n * n, o.teacherGain / Math.sqrt(n)), [n, n]),
          uOut: tf.tensor2d(uniform(rng, outputs * n, o.teacherFeedback), [outputs, n]),
          ...(hints ? { uHint: tf.tensor2d(uniform(rng, hints * n, o.hintScale), [hints, n]) } : {}),
        },
      };
    },
    step(ctx) {
      const { model, params } = ctx;
      const { recurrent, J, W } = learned(model);
      const rate = rateOf(model);
      const { roles } = recurrent;
      const { JD, uOut, uHint } = ctx.state.tensors as Record<string, tf.Tensor2D>;
      const alphaD = o.teacherIntegration === 'exact' ? 1 - Math.exp(-rate.dtOverTau) : rate.dtOverTau;
      const bias = roles.bias ? params[roles.bias] : undefined;
      // A sparse J (--sparsity < 1) learns its existing connections only, with the one shared P.
      const mask = roles.mask ? params[roles.mask] : undefined;
      const sums = new StepSums();
      const outputs: tf.Tensor2D[][] = [];
      let w: Record<string, tf.Tensor> = { [J]: tf.clone(params[J]!), [W]: tf.clone(params[W]!) };
      const nnls = usesNnls(model, [J, W], o.daleSolver);
      // RLS carries P; the sign-constrained solve its normal equations.
      let P = nnls ? null : (tf.clone(ctx.state.tensors['P']!) as tf.Tensor2D);
      let eq: NormalEquations | null = nnls ? normalFromState(ctx.state.tensors, [J, W]) : null;
      // E/I networks: the excitatory and inhibitory parts of each unit's recurrent input, at the update times.
      const excitatory = rate.signs.some((v) => v < 0) ? tf.tensor2d(Float32Array.from(rate.signs, (v) => (v > 0 ? 1 : 0)), [1, rate.signs.length]) : null;
      for (const trial of trialsOf(ctx.batch, recurrent, ctx.noise)) {
        if (trial.hints && !uHint) throw new Error('full-force: the batch has hints but the rule was not told of them (init without the dataset)');
        const times = updateTimes(o, trial.mask, ctx.rng);
        const outs: tf.Tensor2D[] = [];
        let count = 0;
        const student = recurrent.initState(params, 1) as State;
        const T = trial.inputs.length;
        const xD0 = tf.clone(student[rate.potential]!);
        const start = {
          state: student,
          xD: xD0,
          // r^D J^D, the teacher's recurrent drive: its next step's input and the student's target.
          driveJD: tf.matMul(rate.activation.f(xD0) as tf.Tensor2D, JD!),
          // Σ over update times of the unit means of h_E, h_I, |h_E + h_I| and |h_E| (E/I networks).
          balance: tf.zeros([4]),
          P,
          eq,
          w,
          sq: tf.scalar(0) as tf.Tensor,
          ratio: tf.scalar(0) as tf.Tensor,
          // Σ (r − r^D)², Σ r^D, Σ (r^D)² over the trial: the R² of the student's activity against the teacher's.
          res: tf.scalar(0) as tf.Tensor,
          sumD: tf.scalar(0) as tf.Tensor,
          sqD: tf.scalar(0) as tf.Tensor,
        };
        const end = scan(start, T, (c, t) => {
          const u = trial.inputs[t]!;
          const y = trial.targets[t]!;
          const s = recurrent.step({ ...params, ...c.w }, c.state, u, { noise: trial.noise[t] ?? {} });
          outs.push(tf.keep(tf.clone(s.output)));
          // The teacher: driven by the same input, the target and the hints.
          const feed = tf.add(tf.matMul(y, uOut!), trial.hints ? tf.matMul(trial.hints[t]!, uHint!) : 0);
          let driveD = tf.add(tf.add(c.driveJD, feed), tf.matMul(u, params[roles.input]! as tf.Tensor2D));
          if (bias) driveD = tf.add(driveD, bias);
          const xD = tf.add(tf.mul(1 - alphaD, c.xD), tf.mul(alphaD, driveD));
          const r = s.activity;
          const rD = rate.activation.f(xD) as tf.Tensor2D;
          const driveJD = tf.matMul(rD, JD!);
          const moved = {
            state: s.state,
            xD,
            driveJD,
            balance: c.balance,
            res: tf.add(c.res, tf.sum(tf.square(tf.sub(r, rD)))),
            sumD: tf.add(c.sumD, tf.sum(rD)),
            sqD: tf.add(c.sqD, tf.sum(tf.square(rD))),
          };
          // The sign-constrained solve at the end of each window (after this step's sample, if any).
          const solved = (next: typeof c) => (next.eq && solveNow(t, T, o.solveEvery) ? { ...next, w: solveConstrained(model, next.eq, next.w, { [J]: mask }) } : next);
          if (!times[t]) return solved({ ...c, ...moved });
          const target = tf.add(driveJD, feed) as tf.Tensor2D;
          const eW = tf.sub(s.output, y) as tf.Tensor2D;
          const sq = tf.add(c.sq, tf.sum(tf.square(eW)));
          const Jm = (mask ? tf.mul(c.w[J]!, mask) : c.w[J]!) as tf.Tensor2D;
          if (excitatory) {
            const hE = tf.matMul(tf.mul(r, excitatory), Jm);
            const hI = tf.matMul(tf.mul(r, tf.sub(1, excitatory)), Jm);
            moved.balance = tf.add(c.balance, tf.stack([tf.mean(hE), tf.mean(hI), tf.mean(tf.abs(tf.add(hE, hI))), tf.mean(tf.abs(hE))]));
          }
          count++;
          if (c.eq) return solved({ ...c, ...moved, eq: accumulate(c.eq, r, { [J]: target, [W]: y }, o.forgetting), sq });
          const eJ = tf.sub(tf.matMul(r, Jm), target) as tf.Tensor2D;
          const up = rlsUpdate(c.P!, r, [eJ, eW], o.forgetting);
          return {
            ...moved,
            eq: null,
            P: keepSymmetric(up.P, count, o.symmetrizeEvery),
            w: { [J]: constrained(model, J, tf.add(c.w[J]!, up.corrections[0]!)), [W]: constrained(model, W, tf.add(c.w[W]!, up.corrections[1]!)) },
            sq,
            ratio: tf.add(c.ratio, tf.sub(1, tf.sum(tf.matMul(r, up.gain)))),
          };
        });
        const cells = trial.inputs.length * params[W]!.shape[0]!;
        const r2 = tf.sub(1, tf.div(end.res, tf.sub(end.sqD, tf.div(tf.square(end.sumD), cells))));
        sums.add('priorError', end.sq, count);
        // The a-posteriori error exists only for RLS's step-by-step updates.
        if (!nnls) sums.add('errorRatio', end.ratio, count);
        sums.add('teacherR2', r2);
        if (excitatory) {
          const [hE, hI, h, absE] = tf.unstack(end.balance);
          sums.add('excitatoryInput', hE!, count);
          sums.add('inhibitoryInput', hI!, count);
          // |h| / |h_E|: near 0 when large excitatory and inhibitory inputs cancel (a balanced network).
          sums.add('balance', tf.div(h!, absE!));
          tf.dispose([hE!, hI!, h!, absE!]);
        }
        tf.dispose([end.sq, end.ratio, end.res, end.sumD, end.sqD, end.xD, end.driveJD, end.balance, r2, ...Object.values(end.state)]);
        [P, eq, w] = [end.P, end.eq, end.w];
        outputs.push(outs);
      }
      const output = batchOutput(outputs);
      tf.dispose([...outputs.flat(), ...(excitatory ? [excitatory] : [])]);
      const { updates, norms } = changes(params, w);
      tf.dispose(Object.values(w));
      const fixed = Object.fromEntries(['JD', 'uOut', 'uHint'].filter((k) => ctx.state.tensors[k]).map((k) => [k, ctx.state.tensors[k]!]));
      return {
        updates,
        loss: ctx.loss.value(output, ctx.batch),
        output,
        state: { tensors: { ...fixed, ...(eq ? normalToState(eq) : { P: P! }) } },
        metrics: { ...sums.means(), recurrentNorm: norms[J]!, readoutNorm: norms[W]! },
      };
    },
  }),
});
