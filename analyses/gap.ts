/**
 * Generalization gap: loss and accuracy on the training and test splits, and
 * their differences (test loss − train loss; train accuracy − test accuracy).
 * After training it covers both whole splits; during training (`--analyze gap`)
 * the first --analyze-points examples of each, so that it is cheap to repeat.
 */
import { perGroupFigure } from '../src/analysis/report.js';
import { defineAnalysis } from '../src/analysis/contract.js';
import { LossSurface } from '../src/analysis/hvp.js';
import { evaluate, type EvalResult } from '../src/evaluate.js';
import type { Dataset, Model, Params, Split } from '../src/types.js';

export interface GapResult {
  train: EvalResult;
  test: EvalResult;
  /** test loss − train loss. */
  lossGap: number;
  /** train accuracy − test accuracy. */
  accuracyGap: number;
}

/** The gap over whole splits, or over the first `limit` examples of each. */
export function gapMeasures(model: Model, params: Params, dataset: Dataset, batchSize = 1000, limit?: number): GapResult {
  const on = (split: Split): EvalResult => {
    if (limit === undefined) return evaluate(model, params, dataset, split, batchSize);
    const s = new LossSurface(model, params, dataset, { split, points: limit }, [], batchSize);
    try {
      return { ...s.evaluate(), n: s.n };
    } finally {
      s.dispose();
    }
  };
  const train = on('train');
  const test = on('test');
  return { train, test, lossGap: test.loss - train.loss, accuracyGap: train.accuracy - test.accuracy };
}

export const gap = defineAnalysis({
  name: 'gap',
  key: 'gap',
  description: 'generalization gap: loss and accuracy on the training and test splits and their differences (in training: the first --analyze-points examples)',
  selection: 'always',
  run: (ctx) => gapMeasures(ctx.model, ctx.params, ctx.dataset, ctx.evalBatchSize),
  measure: (ctx) => {
    const g = gapMeasures(ctx.model, ctx.params, ctx.dataset, 1000, ctx.points);
    return { trainLoss: g.train.loss, testLoss: g.test.loss, lossGap: g.lossGap, accuracyGap: g.accuracyGap };
  },
  columns: [
    { key: 'lossGap', title: 'loss gap', digits: 4 },
    { key: 'accuracyGap', title: 'acc gap (pts)', digits: 2, scale: 100 },
  ],
  numbers: (r: GapResult) => ({ lossGap: r.lossGap, accuracyGap: r.accuracyGap, testAccuracy: r.test.accuracy }),
  figures(runs, groups) {
    const f = perGroupFigure(
      runs.map(({ analysis, result }) => ({ group: analysis.group, seed: analysis.seed, value: result.lossGap, diverged: analysis.diverged === true })),
      groups,
      'Generalization gap',
      'test loss − train loss',
    );
    return f ? [f] : [];
  },
});
