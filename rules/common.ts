/**
 * What the feedforward credit-assignment rules share: a rule is a choice of
 * layer ops for the backward pathway (src/ops.ts) plus fixed state; the options
 * of the same papers apply to all of them:
 *
 * - Batch-Manhattan (Liao, Leibo, Poggio 2016): the update is sign(ΔW) elementwise,
 *   so every weight moves by ±η whatever the gradient's magnitude.
 * - Weight-norm constraint (Moskovitz, Litwin-Kumar, Abbott 2018): after every
 *   update each layer's weight is rescaled to its initial Frobenius norm,
 *   W ← W · ‖W₀‖ / ‖W‖.
 */
import * as tf from '@tensorflow/tfjs';
import { checkRequirements, layersOf } from '../src/capabilities.js';
import { autodiffStep } from '../src/grad.js';
import type { LayerOps } from '../src/ops.js';
import { option, parse, type OptionsOf } from '../src/options.js';
import type { Rng } from '../src/rng.js';
import type { FeedbackDiagnostic, LearningRule, Model, Params, RuleContext, RuleState } from '../src/types.js';

export const creditOptions = [
  option('batchManhattan', '--batch-manhattan', 'Batch-Manhattan updates: step along sign(ΔW) (Liao et al. 2016)', false, parse.boolean),
  option('weightNorm', '--weight-norm', "keep each layer's ‖W‖ at its initial value (Moskovitz et al. 2018)", false, parse.boolean),
];

export type CreditOptions = OptionsOf<typeof creditOptions>;

export const feedbackScaleOption = option(
  'feedbackScale',
  '--feedback-scale <s>',
  'multiplies the std of the random feedback weights (Xavier: sqrt(2/(fanIn+fanOut)))',
  1,
  parse.positiveNumber,
);

export interface CreditRuleDef {
  name: string;
  /** Fixed state (feedback matrices), drawn from the rule's stream. */
  init?(model: Model, params: Params, rng: Rng): Record<string, tf.Tensor>;
  /** The layer ops through which this step's gradient is taken. */
  ops(ctx: RuleContext): LayerOps;
  feedbackDiagnostics?(model: Model, params: Params, state: RuleState): Record<string, FeedbackDiagnostic>;
}

const NORM = '/norm0';

export function creditRule(def: CreditRuleDef, opts: CreditOptions): LearningRule {
  const rule: LearningRule = {
    // The weight norm is kept per declared layer, even under backprop, which needs no layers otherwise.
    check(model) {
      if (opts.weightNorm) checkRequirements(`--weight-norm (rule ${def.name})`, ['layers'], model);
    },
    init(model, params, rng) {
      const tensors = def.init?.(model, params, rng) ?? {};
      if (opts.weightNorm) {
        for (const layer of layersOf(model)) tensors[layer.weight + NORM] = tf.norm(params[layer.weight]!);
      }
      return { tensors };
    },
    step(ctx) {
      const r = autodiffStep(ctx, def.ops(ctx));
      if (!opts.batchManhattan) return r;
      const updates: Params = {};
      for (const [k, g] of Object.entries(r.updates)) updates[k] = tf.sign(g);
      return { ...r, updates };
    },
  };
  if (opts.weightNorm) {
    rule.constrain = (params, state) => {
      const out: Params = {};
      for (const [key, norm0] of Object.entries(state.tensors)) {
        if (!key.endsWith(NORM)) continue;
        const w = key.slice(0, -NORM.length);
        out[w] = tf.mul(params[w]!, tf.div(norm0, tf.norm(params[w]!)));
      }
      return out;
    };
  }
  if (def.feedbackDiagnostics) rule.feedbackDiagnostics = def.feedbackDiagnostics;
  return rule;
}
