/**
 * What the online temporal rules (e-prop, RFLO) share: they run a rate
 * network's dynamics step by step forward, keep eligibility traces, and form
 * each update as Σ_t (learning signal at t) × (trace at t), with no backward
 * pass in time. They read the network through its capabilities (src/types.ts,
 * Recurrent and RateDynamics): the weights by role, sizes from the parameters,
 * α, f and f' from the rate equation, so any model that provides them trains.
 *
 * Notation (row convention): the rate entering step t is r_t = f(x_t), the new
 * state is x_{t+1} = (1 − α) x_t + α(r_t J + u_t W_in + b), ψ_t = f'(x_{t+1}),
 * the readout z_t = f(x_{t+1}) W_out + b_out, and dz_t = ∂L/∂z_t (masked and
 * normalized by the loss). The learning signal of unit i is L_t = dz_t B with
 * B [outputs, N] either W_outᵀ (symmetric) or a fixed random matrix (random
 * feedback). The readout learns by its exact local gradient Σ_t f(x_{t+1})ᵀ dz_t.
 */
import * as tf from '@tensorflow/tfjs';
import { rateOf, recurrentOf } from '../src/capabilities.js';
import { option, parse } from '../src/options.js';
import type { Rng } from '../src/rng.js';
import type { Capability, LearningRule, Model, Params, RateDynamics, Recurrent, RecurrentRoles, RuleContext, RuleStep, State, StepNoise, TrialRun } from '../src/types.js';

/** What e-prop, RFLO and ModProp need of a model. */
export const TEMPORAL_REQUIRES: readonly Capability[] = ['recurrent', 'rate-dynamics'];

export type FeedbackKind = 'random' | 'symmetric';

export const feedbackOption = (def: FeedbackKind) =>
  option(
    'feedback',
    '--feedback <kind>',
    'learning-signal weights B: random (fixed, std 1/√N) or symmetric (W_outᵀ)',
    def,
    parse.choice(['random', 'symmetric'] as const),
  );

/** Options of the online rules: which feedback, and the scale of a random one. */
export interface OnlineOptions {
  feedback: FeedbackKind;
  feedbackScale: number;
}

export const onlineFeedbackScaleOption = option(
  'feedbackScale',
  '--feedback-scale <s>',
  'multiplies the std 1/√N of the random learning-signal weights B (Murray’s code draws B ~ N(0, 1), i.e. s = √N)',
  1,
  parse.positiveNumber,
);

const FEEDBACK = 'B';

/** Units N and inputs of a recurrent model, read from its parameters. */
export function sizes(params: Params, roles: RecurrentRoles): { units: number; inputs: number; outputs: number } {
  const [inputs, units] = params[roles.input]!.shape as [number, number];
  return { units, inputs, outputs: params[roles.readout]!.shape[1]! };
}

/** Fixed random feedback B [outputs, N] ~ N(0, (scale/√N)²), drawn from the rule's stream (random feedback only). */
export function initFeedback(model: Model, params: Params, rng: Rng, kind: FeedbackKind, scale = 1): Record<string, tf.Tensor> {
  if (kind !== 'random') return {};
  const { units: n, outputs } = sizes(params, recurrentOf(model).roles);
  return { [FEEDBACK]: tf.tensor2d(rng.normals(outputs * n, scale / Math.sqrt(n)), [outputs, n]) };
}

/** One time step as the traces need it. */
export interface StepView {
  /** r_t = f(x_t), the rate that drove this step [B, N]. */
  rateIn: tf.Tensor2D;
  /** u_t [B, inputs]. */
  input: tf.Tensor2D;
  /** ψ_t = f'(x_{t+1}) [B, N]. */
  psi: tf.Tensor2D;
  /** L_t = dz_t B [B, N]. */
  signal: tf.Tensor2D;
}

/** A trial run forward, with everything the temporal rules read from it. */
export interface Unrolled {
  recurrent: Recurrent;
  rate: RateDynamics;
  /** u_t, t = 0 … T−1, each [B, inputs], as the network received them (with any input noise). */
  inputs: tf.Tensor2D[];
  /** x_t, t = 0 … T (x_0 the initial state). */
  states: tf.Tensor2D[];
  /** r_t = f(x_t), t = 0 … T. */
  rates: tf.Tensor2D[];
  output: tf.Tensor;
  loss: tf.Scalar;
  /** dz_t = ∂L/∂z_t, t = 0 … T−1. */
  dz: tf.Tensor2D[];
  /** The readout's exact gradient Σ_t r_{t+1}ᵀ dz_t (and its bias). */
  readout: Params;
}

type Forward = Pick<Unrolled, 'inputs' | 'states' | 'rates' | 'output'>;

/** A whole-trial run (Recurrent.trial) as the per-step lists the rules read. */
function unstackTrial(run: TrialRun): Forward {
  const split = (t: tf.Tensor3D) => tf.unstack(t) as tf.Tensor2D[];
  return { inputs: split(run.inputs), states: split(run.states), rates: split(run.rates), output: run.output };
}

/** The trial by `step` (with each step's training noise). */
function stepByStep(recurrent: Recurrent, rate: RateDynamics, params: Params, x: tf.Tensor, noise: StepNoise[]): Forward {
  const [bsz, T] = x.shape as [number, number, number];
  const inputs = (tf.unstack(x, 1) as tf.Tensor2D[]).map((u, t) => {
    const xi = noise[t]?.input;
    return xi ? (tf.add(u, xi) as tf.Tensor2D) : u;
  });
  let state: State = recurrent.initState(params, bsz);
  const potential = (s: State) => s[rate.potential] as tf.Tensor2D;
  const states = [potential(state)];
  const rates = [rate.activation.f(potential(state)) as tf.Tensor2D];
  const outputs: tf.Tensor2D[] = [];
  // What the model derives from fixed weights (the rnn's J ⊙ mask) once per trial, not per step.
  const prepared = recurrent.prepare?.(params);
  for (let t = 0; t < T; t++) {
    const rec = noise[t]?.rec;
    const s = recurrent.step(prepared?.params ?? params, state, inputs[t]!, rec ? { noise: { rec } } : {});
    state = s.state;
    states.push(potential(s.state));
    rates.push(s.activity);
    outputs.push(s.output);
  }
  tf.dispose(prepared?.prepared);
  return { inputs, states, rates, output: tf.stack(outputs, 1) };
}

/** Runs the trial forward (at once when the model can, else step by step) and differentiates the loss w.r.t. the readout. */
export function unroll(ctx: RuleContext): Unrolled {
  const recurrent = recurrentOf(ctx.model);
  const rate = rateOf(ctx.model);
  const { roles } = recurrent;
  const { params, batch } = ctx;
  const [bsz, T] = batch.x.shape as [number, number, number];
  const noise = recurrent.noise(ctx.noise, bsz, T);
  const whole = recurrent.trial?.(params, batch.x as tf.Tensor3D, noise);
  const { inputs, states, rates, output } = whole ? unstackTrial(whole) : stepByStep(recurrent, rate, params, batch.x, noise);
  const loss = ctx.loss.value(output, batch) as tf.Scalar;
  const dz = tf.unstack(ctx.loss.outputGrad(output, batch), 1) as tf.Tensor2D[];
  const readout: Params = { [roles.readout]: tf.addN(dz.map((d, t) => tf.matMul(tf.transpose(rates[t + 1]!), d))) };
  if (roles.readoutBias) readout[roles.readoutBias] = tf.addN(dz.map((d) => tf.sum(d, 0)));
  return { recurrent, rate, inputs, states, rates, output, loss, dz, readout };
}

/**
 * Runs the trial forward, then walks it again in time order calling `visit`
 * for every step; returns the loss, output, and the readout's exact gradient.
 * The traces are the rule's business (`visit` keeps what it needs).
 */
export function runTemporal(ctx: RuleContext, kind: FeedbackKind, visit: (s: StepView, t: number) => void): Omit<RuleStep, 'updates'> & { readout: Params } {
  const run = unroll(ctx);
  const f = run.rate.activation;
  const readout = ctx.params[run.recurrent.roles.readout]!;
  const B = kind === 'symmetric' ? (tf.transpose(readout) as tf.Tensor2D) : (ctx.state.tensors[FEEDBACK] as tf.Tensor2D);
  run.dz.forEach((d, t) =>
    visit({ rateIn: run.rates[t]!, input: run.inputs[t]!, psi: f.df(run.states[t + 1]!, run.rates[t + 1]!) as tf.Tensor2D, signal: tf.matMul(d, B) }, t),
  );
  return { loss: run.loss, output: run.output, readout: run.readout };
}

/**
 * The updates of J, W_in and b by their roles (J masked by the connectivity),
 * keeping only parameters the model trains: a fixed bias (--zero-bias) or an
 * absent one gets none.
 */
export function recurrentUpdates(model: Model, params: Params, roles: RecurrentRoles, u: { J: tf.Tensor; Win: tf.Tensor; b: tf.Tensor }): Params {
  const out: Params = {
    [roles.recurrent]: roles.mask ? tf.mul(u.J, params[roles.mask]!) : u.J,
    [roles.input]: u.Win,
  };
  if (roles.bias && model.specs[roles.bias]?.trainable !== false) out[roles.bias] = u.b;
  return out;
}

/** A rule's eligibility traces for one batch: fed every step in time order, then read out as updates of J, W_in and b. */
export interface Traces {
  visit(s: StepView): void;
  updates(): { J: tf.Tensor; Win: tf.Tensor; b: tf.Tensor };
}

/** An online temporal rule from its traces (e-prop, RFLO). */
export function onlineRule({ feedback, feedbackScale }: OnlineOptions, traces: (rate: RateDynamics, sizes: { units: number; inputs: number; batch: number }) => Traces): LearningRule {
  return {
    init: (model, params, rng) => ({ tensors: initFeedback(model, params, rng, feedback, feedbackScale) }),
    step(ctx) {
      const { roles } = recurrentOf(ctx.model);
      const { units, inputs } = sizes(ctx.params, roles);
      const tr = traces(rateOf(ctx.model), { units, inputs, batch: ctx.batch.x.shape[0]! });
      const run = runTemporal(ctx, feedback, (s) => tr.visit(s));
      return { loss: run.loss, output: run.output, updates: { ...run.readout, ...recurrentUpdates(ctx.model, ctx.params, roles, tr.updates()) } };
    },
  };
}
