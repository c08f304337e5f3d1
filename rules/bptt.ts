/**
 * Backpropagation through time and its truncated form, for recurrent models.
 *
 * bptt: the exact gradient of the loss summed over the trial, by autodiff through
 * the unrolled dynamics (Werbos 1990):
 *   ∂L/∂J = Σ_t r_{t−1}ᵀ δ_t,   δ_t = ∂L/∂x_t (through all later steps).
 *
 * tbptt (window k): the same, with the gradient through the state cut every k
 * steps, so credit reaches back at most to the start of the current k-step
 * chunk (the "detach every k steps" scheme; Williams & Peng 1990's BPTT(k, k)).
 * With k ≥ T it equals bptt.
 */
import { defineRule } from '../src/entries.js';
import { autodiffStep } from '../src/grad.js';
import { option, parse } from '../src/options.js';
import type { LearningRule } from '../src/types.js';

export function createBptt(): LearningRule {
  return { init: () => ({ tensors: {} }), step: (ctx) => autodiffStep(ctx) };
}

export function createTbptt(opts: { window: number }): LearningRule {
  return { init: () => ({ tensors: {} }), step: (ctx) => autodiffStep(ctx, undefined, { truncate: opts.window }) };
}

export const bptt = defineRule({
  name: 'bptt',
  description: 'backpropagation through time: exact gradient through the unrolled recurrent dynamics',
  reference: 'Werbos 1990, Proc IEEE',
  output: 'gradient',
  requires: ['differentiable'],
  create: () => createBptt(),
});

export const tbptt = defineRule({
  name: 'tbptt',
  description: 'truncated BPTT: the gradient through the state is cut every --window steps',
  reference: 'Williams & Peng 1990, Neural Comput',
  output: 'gradient',
  requires: ['recurrent', 'differentiable'],
  options: [option('window', '--window <k>', 'gradient window in time steps', 20, parse.positiveInt)],
  create: (o) => createTbptt(o),
});
