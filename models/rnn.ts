/**
 * Continuous-time rate RNN, Euler-discretised with α = dt/τ:
 *
 *   x_{t+1} = (1 − α) x_t + α (r_t J + u_t W_in + b),   r_t = f(x_t),
 *   z_t = f(x_{t+1}) W_out + b_out,
 *
 * in row convention (J[j, i] is the weight from unit j to unit i, the transpose
 * of the papers' J). Parameters `rnn/Win` [inputs, N], `rnn/J` [N, N], `rnn/b`
 * [N], `rnn/Wout` [N, outputs], `rnn/bout` [outputs], optionally `rnn/x0` [N]
 * (a trainable initial state; zero otherwise), and the fixed connectivity mask
 * `rnn/mask` [N, N] (--sparsity; no autapses with --dale). `--zero-bias` keeps
 * b fixed at 0 (not trained), `--no-bias` both b and b_out. `--init-rank r` starts J at the truncated SVD of
 * its random draw (top r singular triplets) rescaled to the draw's Frobenius
 * norm, so only the rank changes (Liu, Baratin, Cornford, Mihalas, Shea-Brown,
 * Lajoie 2023); a discrete RNN as theirs is `--dt` equal to `--tau` (α = 1).
 *
 * --dale p (PsychRNN's convention): the first ⌈pN⌉ units are excitatory, the
 * rest inhibitory; J keeps the sign of its presynaptic unit (rows ≥ 0 for E,
 * ≤ 0 for I), inhibitory units do not project to the readout and excitatory ones
 * project with W_out ≥ 0 (`--dale-readout all`: I units project too, with
 * W_out ≤ 0, as in ModProp's reference). The signs are parameter constraints, re-imposed after
 * every update, so checkpoints hold sign-correct weights. The initial J is
 * balanced: every unit's summed inhibitory input equals its summed excitatory
 * input, which avoids the outlier eigenvalue of a random E/I matrix; it is then
 * scaled to spectral radius g (as PsychRNN and ModProp's reference code scale
 * their E/I initialisations), since half-normal E/I entries alone give a bulk
 * of radius ≈ 2–4 g.
 *
 * Output feedback (--output-feedback s > 0, FORCE's architecture): the readout
 * is fed back into every unit through fixed weights W_fb ~ U(−s, s) [outputs, N],
 *   x_{t+1} = (1 − α) x_t + α(r_t J + u_t W_in + z_{t−1} W_fb + b),   z_{−1} = 0,
 * with the last output kept in the state (`z`); a rule may feed back a target
 * instead (teacher forcing, StepOptions.feedback). Such a network no longer
 * follows the plain rate equation, so it does not provide `rate` (e-prop, RFLO,
 * ModProp and --dynamics refuse it); autodiff rules train it.
 *
 * Noise (training steps only; evaluation is noise-free): --input-noise σ_in adds
 * σ_in ξ to every input, --rec-noise σ_rec adds √(2α) σ_rec ξ to every state
 * update (PsychRNN's scaling, so the stationary noise of a leaky unit does not
 * depend on dt). ξ ~ N(0, 1) comes from the run's `noise` stream, derived from the
 * seed and the step, so a run is reproducible and resumable.
 *
 * Initialisation: J ~ N(0, g²/(pN)) on the mask (spectral radius ≈ g; under
 * Dale |·| with signs, balanced and scaled to radius g, above),
 * W_in ~ N(0, 1/inputs), W_out ~ N(0, s²/N) (s = --readout-scale), biases 0.
 * --integration exact replaces the Euler factor dt/τ by 1 − e^(−dt/τ), the
 * exact solution over a step of constant drive (full-FORCE's MATLAB demos
 * integrate their target-generating network this way). Inputs are [B, T, inputs]
 * sequences; dt comes from the task (`--dt`), τ from `--tau`.
 */
import * as tf from '@tensorflow/tfjs';
import { activation } from '../src/activations.js';
import { balanceInhibition, daleOption, signConstraint } from '../src/dale.js';
import { defineModel } from '../src/entries.js';
import { UsageError } from '../src/errors.js';
import { eigenvalues, truncateRank } from '../src/linalg.js';
import { stopGradient } from '../src/ops.js';
import { option, parse, type OptionsOf } from '../src/options.js';
import { hasRateSequence, rateSequence } from '../src/kernels/rate-rnn.js';
import { addBatchedBias, batchedProduct } from '../src/population.js';
import type { Rng } from '../src/rng.js';
import type { DataInfo, LayerTrace, Model, Params, ParamSpec, State, StepNoise, StepOptions, StepResult, TrialRun } from '../src/types.js';
import { activationOption } from './mlp.js';

export const rnnOptions = [
  option('units', '--units <n>', 'recurrent units N', 100, parse.positiveInt),
  option('tau', '--tau <ms>', 'membrane time constant τ in ms (the Euler step is α = dt/τ)', 100, parse.positiveNumber),
  activationOption,
  option('gain', '--gain <g>', 'scale g of the initial recurrent weights (std g/√(pN))', 1, parse.nonNegativeNumber),
  option('sparsity', '--sparsity <p>', 'connection probability p of the recurrent matrix', 1, (raw) => {
    const v = parse.positiveNumber(raw);
    if (v > 1) throw new Error('must be in (0, 1]');
    return v;
  }),
  option('initRank', '--init-rank <r>', 'start J at its best rank-r approximation, rescaled to the full matrix\'s Frobenius norm (Liu et al. 2023; 0: full rank)', 0, parse.nonNegativeInt),
  daleOption,
  option('daleReadout', '--dale-readout <units>', 'with --dale: excitatory (only E units project to the readout, PsychRNN) or all (I units too, with negative weights, as ModProp\'s reference)', 'excitatory' as 'excitatory' | 'all', parse.choice(['excitatory', 'all'] as const)),
  option('trainX0', '--train-x0', 'learn the initial state x_0 (otherwise x_0 = 0)', false, parse.boolean),
  option('zeroBias', '--zero-bias', "keep the recurrent bias b at 0, not learned (ModProp's reference has none)", false, parse.boolean),
  option('bias', '--no-bias', 'no biases: b and b_out stay 0, not learned (the networks of Liu et al. 2023)', true, parse.boolean),
  option('outputFeedback', '--output-feedback <s>', 'feed the readout back into every unit through fixed weights U(−s, s) (FORCE: 1; 0: none)', 0, parse.nonNegativeNumber),
  option('readoutScale', '--readout-scale <s>', 'std of the initial readout is s/√N (0: the readout starts at 0, as FORCE and full-FORCE)', 1, parse.nonNegativeNumber),
  option('integration', '--integration <how>', 'euler (x ← x + α(−x + drive), α = dt/τ) or exact (the drive held over the step: α = 1 − e^(−dt/τ))', 'euler' as 'euler' | 'exact', parse.choice(['euler', 'exact'] as const)),
  option('recNoise', '--rec-noise <σ>', 'recurrent noise σ_rec during training (√(2α)·σ_rec·ξ per step)', 0, parse.nonNegativeNumber),
  option('inputNoise', '--input-noise <σ>', 'input noise σ_in during training (σ_in·ξ added to every input)', 0, parse.nonNegativeNumber),
];

export type RnnOptions = OptionsOf<typeof rnnOptions>;

export interface RnnModel extends Model {
  readonly recurrent: NonNullable<Model['recurrent']>;
  /** Absent with --output-feedback. */
  readonly rate?: NonNullable<Model['rate']>;
}

const ROLES = {
  input: 'rnn/Win',
  recurrent: 'rnn/J',
  readout: 'rnn/Wout',
  bias: 'rnn/b',
  readoutBias: 'rnn/bout',
  mask: 'rnn/mask',
} as const;

export function createRnn(opts: RnnOptions, data: DataInfo): RnnModel {
  if (data.inputShape.length !== 2) {
    throw new UsageError(`model rnn needs sequence inputs [time, channels] (a task, --task); this dataset has examples of shape [${data.inputShape.join(', ')}]`);
  }
  const dt = data.dtMs ?? 1;
  if (dt > opts.tau) throw new UsageError(`--dt ${dt} ms is larger than --tau ${opts.tau} ms; the Euler step dt/τ must be at most 1`);
  const n = opts.units;
  const nIn = data.inputShape[1]!;
  const nOut = data.outputSize;
  // Exact integration of τ dx/dt = −x + drive with the drive held over the step has the Euler form with α = 1 − e^(−dt/τ).
  const alpha = opts.integration === 'exact' ? 1 - Math.exp(-dt / opts.tau) : dt / opts.tau;
  const f = activation(opts.activation);
  const nE = opts.dale > 0 ? Math.ceil(opts.dale * n) : n;
  if (opts.dale > 0 && nE >= n) throw new UsageError(`--dale ${opts.dale} with --units ${n} leaves no inhibitory unit`);
  if (opts.initRank > 0 && (opts.dale > 0 || opts.sparsity < 1)) {
    throw new UsageError(`--init-rank truncates a dense recurrent matrix; it does not combine with ${opts.dale > 0 ? '--dale' : '--sparsity below 1'} (signs and zeros would not survive the truncation)`);
  }
  const signs = Float32Array.from({ length: n }, (_, j) => (j < nE ? 1 : -1));
  const feedback = opts.outputFeedback > 0;
  const specs: Record<string, ParamSpec> = {
    'rnn/Win': { shape: [nIn, n], role: 'weight' },
    'rnn/J': { shape: [n, n], role: 'weight' },
    'rnn/b': { shape: [n], role: 'bias', ...(opts.zeroBias || !opts.bias ? { trainable: false } : {}) },
    'rnn/Wout': { shape: [n, nOut], role: 'weight' },
    'rnn/bout': { shape: [nOut], role: 'bias', ...(opts.bias ? {} : { trainable: false }) },
    'rnn/mask': { shape: [n, n], role: 'state', trainable: false },
    ...(opts.trainX0 ? { 'rnn/x0': { shape: [n], role: 'state' as const } } : {}),
    ...(feedback ? { 'rnn/Wfb': { shape: [nOut, n], role: 'state' as const, trainable: false } } : {}),
  };
  const dale = opts.dale > 0;

  const init = (rng: Rng): Params => {
    const mask = new Float32Array(n * n);
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) mask[j * n + i] = (dale && i === j) || rng.uniform() >= opts.sparsity ? 0 : 1;
    const std = opts.gain / Math.sqrt(opts.sparsity * n);
    const J = rng.normals(n * n, std);
    for (let k = 0; k < n * n; k++) J[k] = mask[k]! * (dale ? signs[Math.floor(k / n)]! * Math.abs(J[k]!) : J[k]!);
    if (opts.initRank > 0) J.set(truncateRank(J, n, n, opts.initRank));
    if (dale) {
      // Balance: scale each unit's inhibitory inputs so they cancel its excitatory ones.
      balanceInhibition(J, signs);
      // Half-normal E/I entries make a bulk of radius ≈ 2–4 g: rescale to spectral radius g.
      const rows = Array.from({ length: n }, (_, j) => Array.from(J.subarray(j * n, (j + 1) * n), Number));
      const rho = Math.max(...eigenvalues(rows).map((e) => Math.hypot(e.re, e.im)));
      if (rho > 0) for (let k = 0; k < n * n; k++) J[k]! *= opts.gain / rho;
    }
    const Wout = rng.normals(n * nOut, opts.readoutScale / Math.sqrt(n));
    const readoutSign = (j: number) => (j < nE ? 1 : opts.daleReadout === 'all' ? -1 : 0);
    if (dale) for (let k = 0; k < n * nOut; k++) Wout[k] = readoutSign(Math.floor(k / nOut)) * Math.abs(Wout[k]!);
    const p: Params = {
      'rnn/Win': tf.tensor2d(rng.normals(nIn * n, 1 / Math.sqrt(nIn)), [nIn, n]),
      'rnn/J': tf.tensor2d(J, [n, n]),
      'rnn/b': tf.zeros([n]),
      'rnn/Wout': tf.tensor2d(Wout, [n, nOut]),
      'rnn/bout': tf.zeros([nOut]),
      'rnn/mask': tf.tensor2d(mask, [n, n]),
    };
    if (opts.trainX0) p['rnn/x0'] = tf.zeros([n]);
    // Drawn last, so networks without feedback draw exactly what they always did.
    if (feedback) p['rnn/Wfb'] = tf.tensor2d(Float32Array.from({ length: nOut * n }, () => opts.outputFeedback * (2 * rng.uniform() - 1)), [nOut, n]);
    return p;
  };

  if (dale) {
    specs['rnn/J'] = { ...specs['rnn/J']!, constraint: signConstraint('dale', signs) };
    specs['rnn/Wout'] = { ...specs['rnn/Wout']!, constraint: signConstraint('dale-readout', Float32Array.from(signs, (v) => (v > 0 ? 1 : opts.daleReadout === 'all' ? -1 : 0))) };
  }

  /** The initial state for a batch, or a population's [P, B, N] when `members` is given. */
  const initState = (params: Params, batch: number, members?: number): State => {
    const lead = members === undefined ? [batch] : [members, batch];
    const x0 = params['rnn/x0'];
    const x = !x0
      ? tf.zeros([...lead, n])
      : members === undefined
        ? tf.tile(tf.reshape(x0, [1, n]), [batch, 1])
        : tf.mul(tf.ones([...lead, 1]), x0.rank === 2 ? tf.expandDims(x0, 1) : x0);
    const state: State = { x };
    if (feedback) state['z'] = tf.zeros([...lead, nOut]);
    return state;
  };

  /**
   * One Euler step. Every parameter may carry a leading population axis [P, …]
   * (then the state is [P, B, N]); the single-network path is unchanged.
   */
  // J ⊙ mask, computed once by `prepare` for a caller whose J stays fixed: the wasm product
  // packs its right operand per new tensor, ~5 ms at N = 1000, so a fresh J ⊙ mask every step costs more than the step.
  const MASKED = 'rnn/J⊙mask';
  const masked = (params: Params) => params[MASKED] ?? tf.mul(params['rnn/J']!, params['rnn/mask']!);

  /** One step; `J` is J ⊙ mask when the caller has it (a forward pass computes it once, not per step). */
  const advance = (params: Params, state: State, input: tf.Tensor, options: StepOptions = {}, J: tf.Tensor = masked(params)) => {
    const noise = options.noise ?? {};
    const u = noise.input ? tf.add(input, noise.input) : input;
    let drive = addBatchedBias(tf.add(batchedProduct(f.f(state['x']!), J), batchedProduct(u, params['rnn/Win']!)), params['rnn/b']!);
    if (feedback) drive = tf.add(drive, batchedProduct(options.feedback ?? state['z']!, params['rnn/Wfb']!));
    // A rule that feeds back a target requires 'output-feedback', which this network provides only with --output-feedback.
    else if (options.feedback) throw new Error('model rnn has no output feedback weights (--output-feedback)');
    let x = tf.add(tf.mul(1 - alpha, state['x']!), tf.mul(alpha, drive));
    if (noise.rec) x = tf.add(x, noise.rec);
    const rate = f.f(x);
    const output = addBatchedBias(batchedProduct(rate, params['rnn/Wout']!), params['rnn/bout']!);
    const next: State = { x };
    if (feedback) next['z'] = output;
    return { state: next, output, rate };
  };

  const prepare = (params: Params) => {
    const J = tf.mul(params['rnn/J']!, params['rnn/mask']!);
    return { params: { ...params, [MASKED]: J }, prepared: [J] };
  };

  const step = (params: Params, state: State, input: tf.Tensor2D, options?: StepOptions): StepResult => {
    const s = advance(params, state, input, options);
    return { state: s.state, output: s.output as tf.Tensor2D, activity: s.rate as tf.Tensor2D };
  };

  const noise = (rng: Rng | undefined, batch: number, T: number): StepNoise[] => {
    if (!rng || (opts.recNoise === 0 && opts.inputNoise === 0)) return [];
    const recStd = Math.sqrt(2 * alpha) * opts.recNoise;
    return Array.from({ length: T }, () => ({
      ...(opts.inputNoise > 0 ? { input: tf.tensor2d(rng.normals(batch * nIn, opts.inputNoise), [batch, nIn]) } : {}),
      ...(opts.recNoise > 0 ? { rec: tf.tensor2d(rng.normals(batch * n, recStd), [batch, n]) } : {}),
    }));
  };

  /**
   * A trial in two native kernels (src/kernels/rate-rnn.ts), for a backend that has them: the
   * same equations as `advance`, with the input drive u_t W_in + b of every step as one product
   * and the readout of every step as another. Tensors are time-major [T, B, …] but the output.
   */
  const wholeTrial = (params: Params, u: tf.Tensor, J: tf.Tensor, xi: StepNoise[], truncate: number) => {
    const [batch, T] = u.shape as [number, number, number];
    let inputs = tf.transpose(u, [1, 0, 2]) as tf.Tensor3D;
    if (xi[0]?.input) inputs = tf.add(inputs, tf.stack(xi.map((s) => s.input!)));
    const drive = tf.add(tf.reshape(tf.matMul(tf.reshape(inputs, [T * batch, nIn]), params['rnn/Win'] as tf.Tensor2D), [T, batch, n]), params['rnn/b']!);
    const rec = xi[0]?.rec ? (tf.stack(xi.map((s) => s.rec!)) as tf.Tensor3D) : undefined;
    const x0 = initState(params, batch)['x'] as tf.Tensor2D;
    const { xs, rs } = rateSequence(x0, J as tf.Tensor2D, drive as tf.Tensor3D, rec, { alpha, activation: opts.activation, truncate });
    const post = tf.transpose(rs, [1, 0, 2]);
    const output = tf.add(tf.reshape(tf.matMul(tf.reshape(post, [batch * T, n]), params['rnn/Wout'] as tf.Tensor2D), [batch, T, nOut]), params['rnn/bout']!) as tf.Tensor3D;
    return { inputs, x0, xs, rs, post, output };
  };

  /**
   * Whether a pass runs on the whole-trial kernels: the backend has them, the network has no
   * output feedback, and at most a first-order gradient is being recorded (their backward
   * kernel has no gradient of its own; a Hessian-vector product runs the forward pass inside
   * two nested gradients and keeps the per-step graph).
   */
  const fused = () => !feedback && hasRateSequence() && tf.engine().state.gradientDepth <= 1;

  /** Recurrent.trial: the whole-trial kernels without truncation, states and rates from step 0. */
  const trial = (params: Params, u: tf.Tensor3D, xi: StepNoise[]): TrialRun | null => {
    if (!fused()) return null;
    const run = wholeTrial(params, u, masked(params), xi, 0);
    const states = tf.concat([tf.expandDims(run.x0, 0), run.xs]) as tf.Tensor3D;
    const rates = tf.concat([tf.expandDims(f.f(run.x0), 0), run.rs]) as tf.Tensor3D;
    return { inputs: run.inputs, states, rates, output: run.output };
  };

  const truncated = (state: State): State => Object.fromEntries(Object.entries(state).map(([k, v]) => [k, stopGradient(v)]));

  return {
    name: 'rnn',
    // Evaluation keeps every step's state: cap a forward batch at ~8M state entries (T·N per
    // trial), so long trials (dt = 1 ms, 900 steps) stay within the wasm backend's 4 GB.
    maxBatch: Math.max(1, Math.floor(8e6 / (data.inputShape[0]! * n))),
    specs,
    init,
    // Without biases the rules see no bias roles (nothing of theirs to update).
    recurrent: { roles: { ...(opts.bias ? ROLES : { ...ROLES, bias: undefined, readoutBias: undefined }), ...(opts.trainX0 ? { initialState: 'rnn/x0' } : {}), ...(feedback ? { feedback: 'rnn/Wfb' } : {}) }, initState, step, prepare, noise, trial },
    // With output feedback the readout enters the dynamics: not the rate equation that
    // e-prop, RFLO, ModProp and --dynamics assume, so the model does not claim it.
    ...(feedback ? {} : { rate: { alpha, dtOverTau: dt / opts.tau, activation: f, signs, potential: 'x' } }),
    forward(params, u, fwd = {}) {
      const [batch, T] = u.shape as [number, number, number];
      const xi = noise(fwd.training ? fwd.rng : undefined, batch, T);
      const J = masked(params);
      if (fused()) {
        const run = wholeTrial(params, u, J, xi, fwd.truncate ?? 0);
        const trace: LayerTrace[] = [
          { name: 'rnn', input: u, pre: tf.transpose(run.xs, [1, 0, 2]), post: run.post },
          { name: 'out', input: run.post, pre: run.output, post: run.output },
        ];
        return { output: run.output, trace };
      }
      let state = initState(params, batch);
      const k = fwd.truncate;
      const xs: tf.Tensor[] = [];
      const rates: tf.Tensor[] = [];
      const zs: tf.Tensor[] = [];
      const inputs = tf.unstack(u, 1) as tf.Tensor2D[];
      for (let t = 0; t < T; t++) {
        if (k && t > 0 && t % k === 0) state = truncated(state);
        // Each step's intermediates go at once (a tape keeps its own copies of what backprop needs):
        // evaluation of a long trial (FORCE's 14,400 steps at N = 1000) holds only the states.
        const s = tf.tidy(() => advance(params, state, inputs[t]!, xi[t] ? { noise: xi[t] } : {}, J));
        state = s.state;
        xs.push(s.state['x']!);
        rates.push(s.rate);
        zs.push(s.output);
      }
      const pre = tf.stack(xs, 1);
      const post = tf.stack(rates, 1);
      const output = tf.stack(zs, 1);
      const trace: LayerTrace[] = [
        { name: 'rnn', input: u, pre, post },
        { name: 'out', input: post, pre: output, post: output },
      ];
      return { output, trace };
    },
    populationForward(params, population, u) {
      const members = Object.values(population)[0]!.shape[0]!;
      const p = { ...params, ...population };
      let state = initState(p, u.shape[0]!, members);
      const zs: tf.Tensor[] = [];
      const J = masked(p);
      for (const input of tf.unstack(u, 1)) {
        const s = advance(p, state, input, {}, J);
        state = s.state;
        zs.push(s.output);
      }
      return tf.stack(zs, 2);
    },
  };
}

export const rnn = defineModel({
  name: 'rnn',
  description: 'continuous-time rate RNN (τ, Euler step dt/τ), --units, --gain, --sparsity, --dale E/I split, trainable --train-x0, --output-feedback',
  reference: 'Song, Yang, Wang 2016; PsychRNN (Ehrlich et al. 2021)',
  options: rnnOptions,
  create: (o, data) => createRnn(o, data),
});
