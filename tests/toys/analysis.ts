/** A toy analysis: the norm ‖θ‖ of the trainable parameters, after training and during it. */
import * as tf from '@tensorflow/tfjs';
import { defineAnalysis } from '../../src/analysis/contract.js';
import { option, parse } from '../../src/options.js';
import { trainableNames } from '../../src/params.js';
import type { Model, Params } from '../../src/types.js';

const norm = (model: Model, params: Params, power: number) =>
  tf.tidy(() => tf.pow(tf.addN(trainableNames(model.specs).map((n) => tf.sum(tf.pow(tf.abs(params[n]!), power)))), 1 / power).dataSync()[0]!);

export const toyAnalysis = defineAnalysis({
  name: 'param-norm',
  key: 'paramNorm',
  description: 'toy: the p-norm of the trainable parameters',
  options: [option('power', '--power <p>', 'which p-norm', 2, parse.positiveNumber)],
  run: (ctx, o) => ({ value: norm(ctx.model, ctx.params, o.power), power: o.power }),
  measure: (ctx) => ({ paramNorm: norm(ctx.model, ctx.params, 2) }),
  columns: [{ key: 'paramNorm', title: '‖θ‖', digits: 3 }],
  numbers: (r: { value: number }) => ({ paramNorm: r.value }),
});
