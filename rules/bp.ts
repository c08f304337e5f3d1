/**
 * Backpropagation: the exact gradient by reverse-mode autodiff.
 *
 *   δ_L = ∂L/∂a_L,   δ_l = (δ_{l+1} W_{l+1}ᵀ) ⊙ f'(a_l),   ∂L/∂W_l = h_{l-1}ᵀ δ_l
 *
 * (row convention of src/types.ts). Rumelhart, Hinton, Williams 1986. Works on
 * every model, and is the reference every other rule is measured against.
 */
import { defineRule } from '../src/entries.js';
import { plainOps } from '../src/ops.js';
import type { LearningRule } from '../src/types.js';
import { creditOptions, creditRule, type CreditOptions } from './common.js';

export function createBackprop(opts: CreditOptions = { batchManhattan: false, weightNorm: false }): LearningRule {
  return creditRule({ name: 'bp', ops: () => plainOps }, opts);
}

export const bp = defineRule({
  name: 'bp',
  description: 'backpropagation: exact gradient by reverse-mode autodiff (any differentiable model)',
  reference: 'Rumelhart, Hinton, Williams 1986, Nature',
  output: 'gradient',
  requires: ['differentiable'],
  options: creditOptions,
  create: (o) => createBackprop(o),
});
