/**
 * A toy rule: antithetic evolution-strategies gradient estimate,
 *   g = Σ_i (L(θ + σε_i) − L(θ − σε_i)) ε_i / (2nσ),
 * with every perturbed parameter set evaluated on the same batch through the
 * core's population evaluation (no backward pass).
 */
import * as tf from '@tensorflow/tfjs';
import { defineRule } from '../../src/entries.js';
import { option, parse } from '../../src/options.js';
import { trainableNames } from '../../src/params.js';
import { populationLosses } from '../../src/population.js';
import type { Params } from '../../src/types.js';

export const toyRule = defineRule({
  name: 'toy-es',
  description: 'toy: antithetic evolution-strategies gradient estimate on a shared batch',
  output: 'gradient',
  options: [option('pairs', '--pairs <n>', 'antithetic pairs per step', 8, parse.positiveInt), option('sigma', '--sigma <σ>', 'perturbation scale', 0.05, parse.positiveNumber)],
  create: (o) => ({
    init: () => ({ tensors: {} }),
    step(ctx) {
      const names = trainableNames(ctx.model.specs);
      const eps: Params = {};
      const population: Params = {};
      for (const n of names) {
        const p = ctx.params[n]!;
        eps[n] = tf.randomNormal([o.pairs, ...p.shape], 0, 1, 'float32', ctx.rng.tfSeed());
        population[n] = tf.concat([tf.add(p, tf.mul(o.sigma, eps[n]!)), tf.sub(p, tf.mul(o.sigma, eps[n]!))]);
      }
      const losses = populationLosses(ctx.model, ctx.params, population, ctx.batch, ctx.loss);
      const diff = tf.sub(tf.slice(losses, [0], [o.pairs]), tf.slice(losses, [o.pairs], [o.pairs]));
      const updates: Params = {};
      for (const n of names) {
        const shape = [o.pairs, ...new Array(ctx.params[n]!.rank).fill(1)];
        updates[n] = tf.div(tf.sum(tf.mul(tf.reshape(diff, shape), eps[n]!), 0), 2 * o.pairs * o.sigma);
      }
      const { output } = ctx.model.forward(ctx.params, ctx.batch.x);
      return { updates, loss: ctx.loss.value(output, ctx.batch), output, metrics: { spread: tf.mean(tf.abs(diff)) as tf.Scalar } };
    },
  }),
});
