/**
 * Options several analyses share (one flag each in `biocredit analyze`), and the
 * loss surface the curvature analyses take their numbers from: the mean loss
 * over the first `--points` examples of `--split`, in file order (the same
 * examples for every run, rule and tool that takes "the first N"), as a
 * function of the trainable parameters matching `--params`.
 */
import { DEFAULT_REL_STEP, LossSurface, selectParams } from '../src/analysis/hvp.js';
import type { AnalyzeContext, MeasureContext } from '../src/analysis/contract.js';
import { option, parse } from '../src/options.js';

export const pointsOption = option('points', '--points <n>', 'the analyses read the first n examples of --split, in file order', 1000, parse.positiveInt);
export const splitOption = option('split', '--split <split>', 'train or test', 'train' as 'train' | 'test', parse.choice(['train', 'test'] as const));
export const paramsOption = option('params', '--params <globs>', 'restrict to parameters matching comma-separated globs, e.g. "l1/W" or "*/W" (default: all trainable)', null as string | null, parse.string);
export const seedOption = option('seed', '--seed <n>', 'seed of the random probe and start vectors', 0, parse.nonNegativeInt);
export const hvpOption = option(
  'hvp',
  '--hvp <method>',
  'Hessian-vector products: exact (double backprop) or fd (central differences of gradients; smooth networks only)',
  'exact' as 'exact' | 'fd',
  parse.choice(['exact', 'fd'] as const),
);
export const hvpStepOption = option('hvpStep', '--hvp-step <h>', 'finite-difference step, relative to 1 + ‖θ‖ (for --hvp fd and the step check)', DEFAULT_REL_STEP, parse.positiveNumber);

/** The options that pick a loss surface. */
export const surfaceOptions = [pointsOption, splitOption, paramsOption] as const;

/** The loss surface of a trained run over the chosen examples and parameters; `use` gets it, then it is disposed. */
export function onSurface<T>(ctx: AnalyzeContext, o: { points: number; split: 'train' | 'test'; params: string | null }, use: (s: LossSurface) => T): T {
  const names = selectParams(ctx.model, o.params ?? undefined);
  const surface = new LossSurface(ctx.model, ctx.params, ctx.dataset, { split: o.split, points: o.points }, names);
  try {
    return use(surface);
  } finally {
    surface.dispose();
  }
}

/** The same during training: the first --analyze-points training examples, the --analyze-params parameters. */
export function onTrainingPoints<T>(ctx: MeasureContext, use: (s: LossSurface) => T): T {
  const surface = new LossSurface(ctx.model, ctx.params, ctx.dataset, { split: 'train', points: ctx.points }, ctx.paramNames);
  try {
    return use(surface);
  } finally {
    surface.dispose();
  }
}
