/**
 * Analyses recorded during training (`--analyze-every N --analyze hessian,gap`):
 * cheap versions of the measures of `biocredit analyze`, on the live
 * parameters, written to metrics.jsonl as `{"type": "analysis", ...}` records.
 *
 * - hessian: λ_max of the Hessian of the mean loss over the first `points`
 *   training examples (file order), Lanczos, tolerance 1e-3, at most 50 HVPs.
 * - gap: loss and accuracy on the first `points` training and test examples,
 *   and their differences (a subset, so that it is cheap to repeat).
 * - sharpness: SAM sharpness L(θ + ρ g/‖g‖) − L(θ), ρ = 0.05, on the same
 *   training examples.
 * - margin: normalized margin min_i y_i f(x_i)/‖θ‖^L on the same training
 *   examples, for models homogeneous in their weights (gated linear networks).
 *
 * Random start vectors come from a stream derived from the run seed and the
 * step, so recording analyses never shifts the training's own random streams.
 */
import { analyses } from '../registries.js';
import type { Rng } from '../rng.js';
import type { AnalysisContext, Dataset, Model, Params } from '../types.js';
import { disposeBatch } from '../data.js';
import { DEFAULT_ANALYZE, gapMeasures, samSharpness } from './analyze.js';
import { normalizedMargin } from './implicit-bias.js';
import { LossSurface, selectParams } from './hvp.js';
import { lanczosTopK } from './spectrum.js';

export interface AnalysisRecord {
  type: 'analysis';
  step: number;
  epoch: number;
  /** Named numbers from each measure (lambdaMax, lossGap, samSharpness, …). */
  [name: string]: number | boolean | string;
}

function onTrainingPoints<T>(ctx: AnalysisContext, f: (s: LossSurface) => T): T {
  const surface = new LossSurface(ctx.model, ctx.params, ctx.dataset, { split: 'train', points: ctx.points }, selectParams(ctx.model));
  try {
    return f(surface);
  } finally {
    surface.dispose();
  }
}

analyses.register({
  name: 'hessian',
  description: 'λ_max of the loss Hessian over the first --analyze-points training examples (Lanczos, tol 1e-3, ≤ 50 HVPs)',
  reference: 'PyHessian (Yao et al. 2020)',
  measure: (ctx) =>
    onTrainingPoints(ctx, (s) => {
      const r = lanczosTopK(s, 1, ctx.rng, { tol: 1e-3, maxIter: 50 });
      return { lambdaMax: r.values[0]!, lambdaMaxConverged: r.converged };
    }),
});

analyses.register({
  name: 'gap',
  description: 'loss and accuracy on the first --analyze-points training and test examples, and their differences',
  measure: (ctx) => {
    const g = gapMeasures(ctx.model, ctx.params, ctx.dataset, 1000, ctx.points);
    return { trainLoss: g.train.loss, testLoss: g.test.loss, lossGap: g.lossGap, accuracyGap: g.accuracyGap };
  },
});

analyses.register({
  name: 'sharpness',
  description: 'SAM sharpness L(θ + ρ g/‖g‖) − L(θ), ρ = 0.05, on the first --analyze-points training examples',
  reference: 'Foret et al. 2021 (SAM)',
  measure: (ctx) => onTrainingPoints(ctx, (s) => ({ samSharpness: samSharpness(s, DEFAULT_ANALYZE.rho) })),
});

analyses.register({
  name: 'margin',
  description: 'normalized margin min_i y_i f(x_i)/‖θ‖^L over the first --analyze-points training examples (homogeneous models: gln)',
  reference: 'Lyu & Li 2020; Lippl, Abbott, Chung 2022',
  measure: (ctx) => {
    const n = Math.min(ctx.points, ctx.dataset.size('train'));
    const b = ctx.dataset.batch('train', Int32Array.from({ length: n }, (_, i) => i));
    try {
      return normalizedMargin(ctx.model, ctx.params, b.x, b.y);
    } finally {
      disposeBatch(b);
    }
  },
});

/** Runs the named measures (checked against the registry) and times them. */
export function hookMeasures(model: Model, params: Params, dataset: Dataset, measures: readonly string[], points: number, rng: Rng): Record<string, number | boolean> {
  const t0 = performance.now();
  const out: Record<string, number | boolean> = {};
  for (const name of measures) Object.assign(out, analyses.get(name).measure({ model, params, dataset, points, rng }));
  return { ...out, sec: (performance.now() - t0) / 1000 };
}
