/**
 * Evolution strategies: the mean θ of a search distribution over the trained
 * parameters moves by what its members' losses say, with no backward pass, so
 * any model trains (non-differentiable ones too) on any fitness (a
 * thresholded decision accuracy too). One convention throughout: fitness is
 * minimised; a member's fitness is its mean training loss on the batch
 * (`--es-fitness loss`) or its error rate 1 − accuracy (`accuracy`).
 *
 * One generation per training step: every member θ_i = θ + y_i (y_i = A z_i,
 * rules/es/strategy.ts) is evaluated on the step's batch, the same examples,
 * trials and noise for all (evaluation mode: no training noise), `--chunk`
 * members at a time through the model's population forward pass. Member i's
 * noise z_i is drawn from (generation seed, i) alone (memberNoise), so a
 * generation is fixed by one seed from the rule's stream and the fitness
 * values, and a distributed evaluator could exchange only those. Antithetic
 * sampling pairs z with −z (members 2k and 2k + 1).
 *
 * Strategies (rules/es/): openai (Salimans et al. 2017), pgpe (Sehnke et al.
 * 2010), snes (Schaul et al. 2011), cma-es and sep-cma-es (Hansen's tutorial;
 * Ros & Hansen 2008). OpenAI-ES and PGPE estimate a gradient that the mean
 * optimizer follows (`--es-optimizer`, `--es-lr`, with `--l2 λ` adding λθ to
 * the estimate, OpenAI's coupled decay); SNES and CMA-ES move the mean
 * themselves. The members are not projected onto the model's constraints
 * (Dale signs); the mean is, after every update.
 *
 * Reported per step: the loss at the mean (`loss`), the members' mean and best
 * fitness, σ statistics, and, on differentiable models, the cosine between the
 * strategy's descent direction (ĝ, or −Δθ for SNES and CMA-ES) and the
 * autodiff gradient on the same batch.
 */
import * as tf from '@tensorflow/tfjs';
import { provides } from '../src/capabilities.js';
import { defineRule } from '../src/entries.js';
import { TrainingError, UsageError } from '../src/errors.js';
import { autodiffStep } from '../src/grad.js';
import { dot, norm } from '../src/linalg.js';
import { option, parse, type Parser } from '../src/options.js';
import { trainableNames } from '../src/params.js';
import { populationLosses, populationOutputs } from '../src/population.js';
import { Rng } from '../src/rng.js';
import type { Batch, Loss, Model, Params, RuleState } from '../src/types.js';
import { FULL_CMA_LIMIT, cmaEs, sepCmaEs } from './es/cma-es.js';
import { MEAN_OPTIMIZERS, initMeanOptimizer, meanStep, type MeanOptimizer } from './es/mean-optimizer.js';
import { openai } from './es/openai.js';
import { pgpe } from './es/pgpe.js';
import { SHAPINGS, shape, type Shaping } from './es/shaping.js';
import { snes } from './es/snes.js';
import type { Strategy, StrategySettings, StrategyState } from './es/strategy.js';

export const STRATEGIES: Record<string, Strategy> = { openai, pgpe, snes, 'cma-es': cmaEs, 'sep-cma-es': sepCmaEs };
const STRATEGY_NAMES = Object.keys(STRATEGIES) as ('openai' | 'pgpe' | 'snes' | 'cma-es' | 'sep-cma-es')[];

/** A positive number, or `auto` for the strategy's own value. */
const autoOr: Parser<number | 'auto'> = (raw) => (raw === 'auto' ? 'auto' : parse.positiveNumber(raw));

/** Member i's standard-normal noise in generation `seed`: a pure function of the two (and d). */
export function memberNoise(seed: number, member: number, d: number): Float32Array {
  return new Rng(`es/${seed}/${member}`).normals(d);
}

/** The trained parameters' names and sizes, in spec order: the layout of the flat vector θ. */
function layout(model: Model): { names: string[]; sizes: number[]; d: number } {
  const names = trainableNames(model.specs);
  const sizes = names.map((n) => model.specs[n]!.shape.reduce((a, b) => a * b, 1));
  return { names, sizes, d: sizes.reduce((a, b) => a + b, 0) };
}

function flatten(params: Params, names: string[], d: number): Float64Array {
  const out = new Float64Array(d);
  let offset = 0;
  for (const n of names) {
    const v = params[n]!.dataSync();
    out.set(v, offset);
    offset += v.length;
  }
  return out;
}

/** The flat rows [c, d] as a population: one [c, …shape] tensor per trained parameter. */
function populationOf(model: Model, rows: Float32Array, c: number, names: string[], sizes: number[]): Params {
  const d = sizes.reduce((a, b) => a + b, 0);
  return tf.tidy(() => {
    const all = tf.tensor2d(rows, [c, d]);
    const out: Params = {};
    let offset = 0;
    names.forEach((n, k) => {
      out[n] = tf.reshape(tf.slice(all, [0, offset], [c, sizes[k]!]), [c, ...model.specs[n]!.shape]);
      offset += sizes[k]!;
    });
    return out;
  });
}

/** Each member's fitness on the batch: its mean loss, or its error rate. */
function fitnessOf(model: Model, params: Params, population: Params, batch: Batch, loss: Loss, by: 'loss' | 'accuracy', c: number): Float64Array {
  if (by === 'loss') {
    const values = populationLosses(model, params, population, batch, loss);
    const out = Float64Array.from(values.dataSync());
    values.dispose();
    return out;
  }
  const rates = tf.tidy(() => {
    const outputs = populationOutputs(model, params, population, batch.x);
    return tf.stack(Array.from({ length: c }, (_, i) => loss.correct(tf.squeeze(tf.slice(outputs, [i], [1]), [0]), batch)));
  });
  const out = Float64Array.from(rates.dataSync(), (k) => 1 - k / batch.size);
  rates.dispose();
  return out;
}

/** −z (a loop: typed-array `from` with a map function is ~30× slower on V8). */
function negated(z: Float32Array): Float32Array {
  const out = new Float32Array(z.length);
  for (let j = 0; j < z.length; j++) out[j] = -z[j]!;
  return out;
}

function cosine(a: Float64Array, b: Float64Array): number {
  const [na, nb] = [norm(a), norm(b)];
  return na > 0 && nb > 0 ? dot(a, b) / (na * nb) : 0;
}

const toTensors = (prefix: string, state: Record<string, Float64Array>) => Object.fromEntries(Object.entries(state).map(([k, v]) => [`${prefix}${k}`, tf.tensor1d(Float32Array.from(v))]));

function fromTensors(prefix: string, tensors: Record<string, tf.Tensor>): Record<string, Float64Array> {
  return Object.fromEntries(
    Object.entries(tensors)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, t]) => [k.slice(prefix.length), Float64Array.from(t.dataSync())]),
  );
}

export const es = defineRule({
  name: 'es',
  description: 'evolution strategies (OpenAI-ES, PGPE, SNES, CMA-ES, sep-CMA-ES): the mean moves by its members’ losses on a shared batch, no backward pass',
  reference: 'Salimans et al. 2017; Sehnke et al. 2010; Schaul et al. 2011; Hansen 2016; Ros & Hansen 2008',
  output: 'update',
  // Fitness on one batch is noisy: a larger batch than the trainer's default.
  defaults: { batchSize: 256, diagEvery: 0 },
  options: [
    option('strategy', '--strategy <name>', `the search strategy, ${STRATEGY_NAMES.join(', ')}; every one minimises the fitness`, 'openai' as (typeof STRATEGY_NAMES)[number], parse.choice(STRATEGY_NAMES)),
    option('population', '--population <n>', 'members per generation (at least 2; rounded up to even with antithetic pairs)', 64, parse.positiveInt),
    option('sigma', '--sigma <σ>', 'initial standard deviation of the perturbations (every strategy)', 0.04, parse.positiveNumber),
    option('sigmaDecay', '--sigma-decay <f>', 'openai: σ ← max(--sigma-min, σ·f) after every generation (1: constant)', 1, parse.positiveNumber),
    option('sigmaMin', '--sigma-min <σ>', 'openai: the floor of the decaying σ', 0, parse.nonNegativeNumber),
    option('sigmaLr', '--sigma-lr <η>', 'pgpe, snes: step size of σ (auto: pgpe 0.1; snes (3 + ln d)/(5√d))', 'auto' as number | 'auto', autoOr),
    option('meanLr', '--mean-lr <η>', 'snes, cma-es, sep-cma-es: step of the mean toward the recombined members (auto: 1)', 'auto' as number | 'auto', autoOr),
    option('antithetic', '--antithetic <on|off|auto>', 'pairs θ ± y (auto: on for openai and pgpe, which needs them; off for snes and the CMA-ES)', 'auto' as 'auto' | 'on' | 'off', parse.choice(['auto', 'on', 'off'] as const)),
    option('shaping', '--shaping <how>', `fitness shaping: auto (centered-rank for openai and pgpe, nes-utilities for snes; the CMA-ES rank by their own weights), ${SHAPINGS.join(', ')}`, 'auto' as 'auto' | Shaping, parse.choice(['auto', ...SHAPINGS] as const)),
    option('esOptimizer', '--es-optimizer <name>', `openai, pgpe: the mean's optimizer, ${MEAN_OPTIMIZERS.join(', ')} (auto: adam for openai, clipup for pgpe)`, 'auto' as 'auto' | MeanOptimizer, parse.choice(['auto', ...MEAN_OPTIMIZERS] as const)),
    option('esLr', '--es-lr <η>', 'openai, pgpe: the mean optimizer’s learning rate (clipup: its step, max speed 2η)', 0.01, parse.positiveNumber),
    option('l2', '--l2 <λ>', 'openai, pgpe: adds λθ to the gradient estimate (coupled L2 on every trained parameter, as OpenAI-ES)', 0, parse.nonNegativeNumber),
    option('esFitness', '--es-fitness <what>', 'what members minimise: loss (the training loss) or accuracy (the error rate 1 − accuracy; any decision, differentiable or not)', 'loss' as 'loss' | 'accuracy', parse.choice(['loss', 'accuracy'] as const)),
    option('chunk', '--chunk <members>', 'members evaluated together (bounds memory: chunk × batch × width activations)', 64, parse.positiveInt),
    option(
      'cosine',
      '--cosine <on|off|auto>',
      'on differentiable models: log the cosine between the ES direction and the autodiff gradient, one backward pass per generation (auto: on for models without a recurrent step, where that pass is cheap beside the generation)',
      'auto' as 'auto' | 'on' | 'off',
      parse.choice(['auto', 'on', 'off'] as const),
    ),
  ],
  create: (o) => {
    const strategy = STRATEGIES[o.strategy]!;
    const antithetic = o.antithetic === 'auto' ? strategy.antithetic !== false : o.antithetic === 'on';
    if (strategy.antithetic === 'required' && !antithetic) throw new UsageError(`--strategy ${o.strategy} is defined on antithetic pairs; drop --antithetic off`);
    if (strategy.shaping === null && antithetic) throw new UsageError(`--strategy ${o.strategy} samples members independently; drop --antithetic on`);
    if (strategy.shaping === null && o.shaping !== 'auto') throw new UsageError(`--strategy ${o.strategy} ranks members with its own recombination weights; drop --shaping ${o.shaping}`);
    const gradientStrategy = o.strategy === 'openai' || o.strategy === 'pgpe';
    if (!gradientStrategy && o.l2 > 0) throw new UsageError(`--l2 applies to the gradient-estimating strategies (openai, pgpe), not --strategy ${o.strategy}`);
    if (!gradientStrategy && o.esOptimizer !== 'auto') throw new UsageError(`--es-optimizer applies to openai and pgpe; --strategy ${o.strategy} moves its mean itself`);
    if (o.population < 2) throw new UsageError('--population must be at least 2');
    const population = antithetic ? o.population + (o.population % 2) : o.population;
    const shaping: Shaping | null = strategy.shaping === null ? null : o.shaping === 'auto' ? strategy.shaping : o.shaping;
    const optimizer: MeanOptimizer = o.esOptimizer !== 'auto' ? o.esOptimizer : o.strategy === 'pgpe' ? 'clipup' : 'adam';
    const settings = (d: number): StrategySettings => {
      const own = strategy.defaults(d);
      return {
        sigma: o.sigma,
        sigmaDecay: o.sigmaDecay,
        sigmaMin: o.sigmaMin,
        sigmaLr: o.sigmaLr === 'auto' ? (own.sigmaLr ?? 0) : o.sigmaLr,
        meanLr: o.meanLr === 'auto' ? (own.meanLr ?? 1) : o.meanLr,
      };
    };
    return {
      check(model) {
        const { d } = layout(model);
        if (o.strategy === 'cma-es' && d > FULL_CMA_LIMIT) {
          throw new UsageError(`--strategy cma-es keeps a full ${d}×${d} covariance; model ${model.name} trains ${d} parameters (at most ${FULL_CMA_LIMIT} here): use --strategy sep-cma-es`);
        }
        if (population !== o.population) process.stderr.write(`es: --population ${o.population} rounded up to ${population} for antithetic pairs\n`);
      },
      init(model): RuleState {
        const { d } = layout(model);
        return { tensors: { ...toTensors('s:', strategy.init(d, settings(d))), ...(gradientStrategy ? toTensors('o:', initMeanOptimizer(optimizer, d)) : {}) } };
      },
      step(ctx) {
        const { model, params, batch, loss } = ctx;
        const { names, sizes, d } = layout(model);
        const s = settings(d);
        const state: StrategyState = fromTensors('s:', ctx.state.tensors);
        const mean = flatten(params, names, d);
        // The generation: one seed, then every member's noise from (seed, member).
        const seed = ctx.rng.tfSeed();
        const base = Array.from({ length: antithetic ? population / 2 : population }, (_, k) => memberNoise(seed, k, d));
        const noise = antithetic ? base.flatMap((z) => [z, negated(z)]) : base;
        const fitness = new Float64Array(population);
        const y = new Float64Array(d);
        for (let start = 0; start < population; start += o.chunk) {
          const c = Math.min(o.chunk, population - start);
          const rows = new Float32Array(c * d);
          for (let i = 0; i < c; i++) {
            strategy.perturb(state, noise[start + i]!, y);
            for (let j = 0; j < d; j++) rows[i * d + j] = mean[j]! + y[j]!;
          }
          const members = populationOf(model, rows, c, names, sizes);
          fitness.set(fitnessOf(model, params, members, batch, loss, o.esFitness, c), start);
          tf.dispose(Object.values(members));
        }
        // A member whose fitness is not finite (its dynamics diverged) ranks last; the shapings that use values cannot place it.
        const failed = fitness.filter((f) => !Number.isFinite(f)).length;
        if (failed === population || (failed > 0 && (shaping === 'z-score' || shaping === 'raw'))) {
          throw new TrainingError(`es: ${failed} of ${population} members have a non-finite fitness at generation ${ctx.step}; a smaller --sigma, or a rank shaping, may help`);
        }
        for (let i = 0; i < population; i++) if (!Number.isFinite(fitness[i]!)) fitness[i] = Infinity;
        const shaped = shape(fitness, shaping ?? 'raw');
        const told = strategy.tell(state, { mean, noise, pairs: antithetic, fitness, shaped, generation: ctx.step }, s);
        let delta: Float64Array;
        let direction: Float64Array;
        let optimizerState: Record<string, Float64Array> = {};
        if (told.step.kind === 'gradient') {
          direction = told.step.gradient;
          const g = o.l2 > 0 ? direction.map((v, j) => v + o.l2 * mean[j]!) : direction;
          const moved = meanStep(optimizer, o.esLr, g, fromTensors('o:', ctx.state.tensors));
          delta = moved.delta;
          optimizerState = moved.state;
        } else {
          delta = told.step.delta;
          direction = delta.map((v) => -v);
        }
        const updates: Params = {};
        let offset = 0;
        names.forEach((n, k) => {
          updates[n] = tf.tensor(Float32Array.from(delta.subarray(offset, offset + sizes[k]!)), model.specs[n]!.shape);
          offset += sizes[k]!;
        });
        const sig = strategy.sigmas(told.state, d);
        let sigmaSum = 0;
        let sigmaMin = Infinity;
        let sigmaMax = 0;
        for (const v of sig) {
          sigmaSum += v;
          sigmaMin = Math.min(sigmaMin, v);
          sigmaMax = Math.max(sigmaMax, v);
        }
        const metrics: Record<string, tf.Scalar> = {
          meanFitness: tf.scalar(fitness.reduce((a, f) => (Number.isFinite(f) ? a + f : a), 0) / (population - failed)),
          failedMembers: tf.scalar(failed),
          bestFitness: tf.scalar(Math.min(...fitness)),
          sigmaMean: tf.scalar(sigmaSum / d),
          sigmaMin: tf.scalar(sigmaMin),
          sigmaMax: tf.scalar(sigmaMax),
        };
        const cosineOn = o.cosine === 'auto' ? !provides(model, 'recurrent') : o.cosine === 'on';
        const exact = cosineOn && provides(model, 'differentiable') ? autodiffStep({ model, params, batch, loss }) : null;
        if (exact) {
          metrics['gradientCosine'] = tf.scalar(cosine(direction, flatten(exact.updates, names, d)));
          tf.dispose([exact.loss, exact.output, ...Object.values(exact.updates)]);
        }
        const { output } = model.forward(params, batch.x, { training: false });
        return {
          updates,
          loss: loss.value(output, batch),
          output,
          state: { tensors: { ...toTensors('s:', told.state), ...toTensors('o:', optimizerState) } },
          metrics,
        };
      },
    };
  },
});
