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
import type { RnnModel, RnnState } from '../models/rnn.js';
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

export function asRnn(model: Model, rule: string): RnnModel {
  const m = model as Partial<RnnModel>;
  if (typeof m.step !== 'function' || typeof m.initState !== 'function' || m.alpha === undefined) {
    throw new UsageError(`rule ${rule} runs recurrent dynamics and needs --model rnn (got ${model.name})`);
  }
  return model as RnnModel;
}

const FEEDBACK = 'B';

/** Fixed random feedback B [outputs, N], drawn from the rule's stream (random feedback only). */
export function initFeedback(model: Model, rng: Rng, kind: FeedbackKind, rule: string): Record<string, tf.Tensor> {
  const rnn = asRnn(model, rule);
  if (kind !== 'random') return {};
  const [n, nOut] = rnn.specs['rnn/Wout']!.shape as [number, number];
  return { [FEEDBACK]: tf.tensor2d(rng.normals(nOut * n, 1 / Math.sqrt(n)), [nOut, n]) };
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

/**
 * Runs the trial forward, then walks it again in time order calling `visit`
 * for every step; returns the loss, output, and the readout's exact gradient.
 * The traces are the rule's business (`visit` keeps what it needs).
 */
export function runTemporal(ctx: RuleContext, kind: FeedbackKind, rule: string, visit: (s: StepView, t: number) => void): Omit<RuleStep, 'updates'> & { readout: Params } {
  const model = asRnn(ctx.model, rule);
  const { params, batch } = ctx;
  const f = activation(model.options.activation);
  const [bsz, T] = batch.x.shape as [number, number, number];
  const inputs = tf.unstack(batch.x, 1) as tf.Tensor2D[];
  let state: RnnState = model.initState(params, bsz);
  const rateIn: tf.Tensor2D[] = [];
  const psi: tf.Tensor2D[] = [];
  const rates: tf.Tensor2D[] = [];
  const outputs: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    rateIn.push(f.f(state.x) as tf.Tensor2D);
    const s = model.step(params, state, inputs[t]!);
    state = s.state;
    psi.push(f.df(s.state.x, s.rate) as tf.Tensor2D);
    rates.push(s.rate);
    outputs.push(s.output);
  }
  const output = tf.stack(outputs, 1);
  const loss = ctx.loss.value(output, batch);
  const dz = tf.unstack(ctx.loss.outputGrad(output, batch), 1) as tf.Tensor2D[];
  const B = kind === 'symmetric' ? (tf.transpose(params['rnn/Wout']!) as tf.Tensor2D) : (ctx.state.tensors[FEEDBACK] as tf.Tensor2D);
  for (let t = 0; t < T; t++) visit({ rateIn: rateIn[t]!, input: inputs[t]!, psi: psi[t]!, signal: tf.matMul(dz[t]!, B) }, t);
  const readout: Params = {
    'rnn/Wout': tf.addN(rates.map((r, t) => tf.matMul(tf.transpose(r), dz[t]!))),
    'rnn/bout': tf.addN(dz.map((d) => tf.sum(d, 0))),
  };
  return { loss, output, readout };
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
export function onlineRule(name: string, feedback: FeedbackKind, traces: (model: RnnModel, batch: number, inputs: number) => Traces): LearningRule {
  return {
    name,
    mode: 'gradient',
    init: (model, _params, rng) => ({ tensors: initFeedback(model, rng, feedback, name) }),
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
