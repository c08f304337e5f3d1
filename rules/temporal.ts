/**
 * What the online temporal rules (e-prop, RFLO) share: they run the rate RNN's
 * dynamics step by step forward, keep eligibility traces, and form each update
 * as Σ_t (learning signal at t) × (trace at t), with no backward pass in time.
 *
 * Notation (row convention of models/rnn.ts): the rate entering step t is
 * r_t = f(x_t), the new state is x_{t+1} = (1 − α) x_t + α(r_t J + u_t W_in + b),
 * ψ_t = f'(x_{t+1}), the readout z_t = f(x_{t+1}) W_out + b_out, and
 * dz_t = ∂L/∂z_t (masked and normalized by the loss). The learning signal of
 * unit i is L_t = dz_t B with B [outputs, N] either W_outᵀ (symmetric) or a
 * fixed random matrix (random feedback). The readout learns by its exact local
 * gradient Σ_t f(x_{t+1})ᵀ dz_t.
 */
import * as tf from '@tensorflow/tfjs';
import { rnnOf, type RnnModel, type RnnState } from '../models/rnn.js';
import { activation } from '../src/activations.js';
import { UsageError } from '../src/errors.js';
import { option, parse } from '../src/options.js';
import type { Rng } from '../src/rng.js';
import type { LearningRule, Model, Params, RuleContext, RuleStep } from '../src/types.js';

export type FeedbackKind = 'random' | 'symmetric';

export const feedbackOption = (def: FeedbackKind) =>
  option(
    'feedback',
    '--feedback <kind>',
    'learning-signal weights B: random (fixed, std 1/√N) or symmetric (W_outᵀ); default symmetric for eprop, random for rflo',
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
  'multiplies the std of random feedback weights (eprop/rflo: 1/√N; Murray’s code draws B ~ N(0, 1), i.e. s = √N)',
  1,
  parse.positiveNumber,
);

export function asRnn(model: Model, rule: string): RnnModel {
  const rnn = rnnOf(model);
  if (!rnn) throw new UsageError(`rule ${rule} runs recurrent dynamics and needs --model rnn (got ${model.name})`);
  return rnn;
}

const FEEDBACK = 'B';

/** Fixed random feedback B [outputs, N] ~ N(0, (scale/√N)²), drawn from the rule's stream (random feedback only). */
export function initFeedback(model: Model, rng: Rng, kind: FeedbackKind, rule: string, scale = 1): Record<string, tf.Tensor> {
  const rnn = asRnn(model, rule);
  if (kind !== 'random') return {};
  const [n, nOut] = rnn.specs['rnn/Wout']!.shape as [number, number];
  return { [FEEDBACK]: tf.tensor2d(rng.normals(nOut * n, scale / Math.sqrt(n)), [nOut, n]) };
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
  model: RnnModel;
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

/** Runs the trial forward step by step (with the step's training noise) and differentiates the loss w.r.t. the readout. */
export function unroll(ctx: RuleContext, rule: string): Unrolled {
  const model = asRnn(ctx.model, rule);
  const { params, batch } = ctx;
  const f = activation(model.options.activation);
  const [bsz, T] = batch.x.shape as [number, number, number];
  const noise = model.noise(ctx.noise, bsz, T);
  const inputs = (tf.unstack(batch.x, 1) as tf.Tensor2D[]).map((u, t) => {
    const xi = noise[t]?.input;
    return xi ? (tf.add(u, xi) as tf.Tensor2D) : u;
  });
  let state: RnnState = model.initState(params, bsz);
  const states = [state.x];
  const rates = [f.f(state.x) as tf.Tensor2D];
  const outputs: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    const s = model.step(params, state, inputs[t]!, { ...(noise[t]?.rec ? { rec: noise[t]!.rec } : {}) });
    state = s.state;
    states.push(s.state.x);
    rates.push(s.rate);
    outputs.push(s.output);
  }
  const output = tf.stack(outputs, 1);
  const loss = ctx.loss.value(output, batch) as tf.Scalar;
  const dz = tf.unstack(ctx.loss.outputGrad(output, batch), 1) as tf.Tensor2D[];
  const readout: Params = {
    'rnn/Wout': tf.addN(dz.map((d, t) => tf.matMul(tf.transpose(rates[t + 1]!), d))),
    'rnn/bout': tf.addN(dz.map((d) => tf.sum(d, 0))),
  };
  return { model, inputs, states, rates, output, loss, dz, readout };
}

/**
 * Runs the trial forward, then walks it again in time order calling `visit`
 * for every step; returns the loss, output, and the readout's exact gradient.
 * The traces are the rule's business (`visit` keeps what it needs).
 */
export function runTemporal(ctx: RuleContext, kind: FeedbackKind, rule: string, visit: (s: StepView, t: number) => void): Omit<RuleStep, 'updates'> & { readout: Params } {
  const run = unroll(ctx, rule);
  const f = activation(run.model.options.activation);
  const B = kind === 'symmetric' ? (tf.transpose(ctx.params['rnn/Wout']!) as tf.Tensor2D) : (ctx.state.tensors[FEEDBACK] as tf.Tensor2D);
  run.dz.forEach((d, t) =>
    visit({ rateIn: run.rates[t]!, input: run.inputs[t]!, psi: f.df(run.states[t + 1]!, run.rates[t + 1]!) as tf.Tensor2D, signal: tf.matMul(d, B) }, t),
  );
  return { loss: run.loss, output: run.output, readout: run.readout };
}

/** Zero updates for trainable parameters the rule does not learn (x_0). */
export function untouched(model: Model, params: Params, learned: Params): Params {
  const out: Params = { ...learned };
  for (const [name, spec] of Object.entries(model.specs)) if (spec.trainable !== false && !out[name]) out[name] = tf.zerosLike(params[name]!);
  return out;
}

/** A rule's eligibility traces for one batch: fed every step in time order, then read out as updates of J, W_in and b. */
export interface Traces {
  visit(s: StepView): void;
  updates(): { J: tf.Tensor; Win: tf.Tensor; b: tf.Tensor };
}

/** An online temporal rule from its traces (e-prop, RFLO). */
export function onlineRule(name: string, { feedback, feedbackScale }: OnlineOptions, traces: (model: RnnModel, batch: number, inputs: number) => Traces): LearningRule {
  return {
    name,
    mode: 'gradient',
    check: (model) => void asRnn(model, name),
    init: (model, _params, rng) => ({ tensors: initFeedback(model, rng, feedback, name, feedbackScale) }),
    step(ctx) {
      const model = asRnn(ctx.model, name);
      const [bsz, , nIn] = ctx.batch.x.shape as [number, number, number];
      const tr = traces(model, bsz, nIn);
      const run = runTemporal(ctx, feedback, name, (s) => tr.visit(s));
      const { J, Win, b } = tr.updates();
      const updates: Params = { ...run.readout, 'rnn/J': tf.mul(J, ctx.params['rnn/mask']!), 'rnn/Win': Win, 'rnn/b': b };
      return { loss: run.loss, output: run.output, updates: untouched(ctx.model, ctx.params, updates) };
    },
  };
}
