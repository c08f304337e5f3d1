/**
 * A neural ODE for the stiff benchmarks (Chen et al. 2018; the ROBER setting of
 * Kim, Ji, Deng, Ma, Rackauckas 2021): the scaled state ŷ (species divided by
 * their maxima) follows
 *
 *   dŷ/dτ = NN(ŷ),   τ = t / t_end,
 *
 * NN an MLP 3 → `--depth` GELU layers of `--width` → 3 (6 × 5: 188 parameters,
 * Kim et al.'s), which in the original variables is ẏ = NN(y/s) ∘ s / t_end.
 * The dataset's inputs give the observation times τ_k (channel 0) and the
 * scaled initial state (channels 1–3); the model integrates from τ = 0 through
 * every τ_k with `--substeps` explicit steps per interval (rk4 or euler), so on
 * a log-spaced grid the step grows with τ. Outputs are ŷ(τ_k) [B, K, 3].
 * GELU is its tanh form, ½x(1 + tanh(√(2/π)(x + 0.044715x³))). Weights start
 * uniform on ±1/√fanIn, biases at 0. The population forward broadcasts a
 * leading member axis through every layer.
 */
import * as tf from '@tensorflow/tfjs';
import { defineModel } from '../src/entries.js';
import { UsageError } from '../src/errors.js';
import { option, parse, type OptionsOf } from '../src/options.js';
import { addBatchedBias, batchedProduct } from '../src/population.js';
import type { Rng } from '../src/rng.js';
import type { DataInfo, Model, Params, ParamSpec } from '../src/types.js';

export const neuralOdeOptions = [
  option('width', '--width <n>', 'units per hidden layer of the vector field', 5, parse.positiveInt),
  option('depth', '--depth <n>', 'hidden GELU layers of the vector field', 6, parse.positiveInt),
  option('substeps', '--substeps <n>', 'integration steps between consecutive observation times', 10, parse.positiveInt),
  option('odeIntegrator', '--ode-integrator <how>', 'rk4 or euler', 'rk4' as 'rk4' | 'euler', parse.choice(['rk4', 'euler'] as const)),
] as const;

export type NeuralOdeOptions = OptionsOf<typeof neuralOdeOptions>;

const gelu = (x: tf.Tensor) => tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));

export function createNeuralOde(opts: NeuralOdeOptions, data: DataInfo): Model {
  if (data.inputShape.length !== 2 || data.inputShape[1] !== data.outputSize + 1) {
    throw new UsageError(`model neural-ode needs inputs [observations, 1 + state] (the rober dataset); this dataset has examples of shape [${data.inputShape.join(', ')}] and ${data.outputSize} outputs`);
  }
  const dim = data.outputSize;
  const sizes = [dim, ...new Array<number>(opts.depth).fill(opts.width), dim];
  const layers = sizes.length - 1;
  const specs: Record<string, ParamSpec> = {};
  for (let l = 0; l < layers; l++) {
    specs[`ode/l${l}/W`] = { shape: [sizes[l]!, sizes[l + 1]!], role: 'weight' };
    specs[`ode/l${l}/b`] = { shape: [sizes[l + 1]!], role: 'bias' };
  }

  const init = (rng: Rng): Params => {
    const p: Params = {};
    for (let l = 0; l < layers; l++) {
      const [fanIn, fanOut] = [sizes[l]!, sizes[l + 1]!];
      const bound = 1 / Math.sqrt(fanIn);
      p[`ode/l${l}/W`] = tf.tensor2d(Float32Array.from({ length: fanIn * fanOut }, () => bound * (2 * rng.uniform() - 1)), [fanIn, fanOut]);
      p[`ode/l${l}/b`] = tf.zeros([fanOut]);
    }
    return p;
  };

  /** NN(ŷ) for a state [B, dim] or a population's [P, B, dim]. */
  const field = (params: Params, y: tf.Tensor) => {
    let h = y;
    for (let l = 0; l < layers; l++) {
      const a = addBatchedBias(batchedProduct(h, params[`ode/l${l}/W`]!), params[`ode/l${l}/b`]!);
      h = l < layers - 1 ? gelu(a) : a;
    }
    return h;
  };

  const step = (params: Params, y: tf.Tensor, h: number) => {
    if (opts.odeIntegrator === 'euler') return tf.add(y, tf.mul(h, field(params, y)));
    const k1 = field(params, y);
    const k2 = field(params, tf.add(y, tf.mul(h / 2, k1)));
    const k3 = field(params, tf.add(y, tf.mul(h / 2, k2)));
    const k4 = field(params, tf.add(y, tf.mul(h, k3)));
    return tf.add(y, tf.mul(h / 6, tf.addN([k1, tf.mul(2, k2), tf.mul(2, k3), k4])));
  };

  /** ŷ at every observation time, stacked on `axis` (1 for [B, K, dim], 2 for a population's [P, B, K, dim]). */
  const integrate = (params: Params, x: tf.Tensor, members?: number) => {
    const times = Array.from(tf.tidy(() => tf.slice(x, [0, 0, 0], [1, -1, 1])).dataSync());
    const y0 = tf.reshape(tf.slice(x, [0, 0, 1], [-1, 1, dim]), [x.shape[0]!, dim]);
    let y: tf.Tensor = members === undefined ? y0 : tf.mul(tf.ones([members, 1, 1]), y0);
    const out: tf.Tensor[] = [];
    let tau = 0;
    for (const next of times) {
      const h = (next - tau) / opts.substeps;
      // Each interval's intermediates go at once (a tape keeps what backprop needs).
      y = tf.tidy(() => {
        let s = y;
        for (let i = 0; i < opts.substeps; i++) s = step(params, s, h);
        return s;
      });
      out.push(y);
      tau = next;
    }
    return tf.stack(out, members === undefined ? 1 : 2);
  };

  return {
    name: 'neural-ode',
    specs,
    init,
    forward(params, x) {
      const output = integrate(params, x);
      return { output, trace: [] };
    },
    populationForward(params, population, x) {
      const members = Object.values(population)[0]!.shape[0]!;
      return integrate({ ...params, ...population }, x, members);
    },
  };
}

export const neuralOde = defineModel({
  name: 'neural-ode',
  description: 'neural ODE dŷ/dτ = NN(ŷ) on scaled state and time (GELU MLP, --width, --depth), explicit --substeps per observation interval; for the rober dataset',
  reference: 'Chen et al. 2018; Kim, Ji, Deng, Ma, Rackauckas 2021, Chaos',
  options: neuralOdeOptions,
  create: (o, data) => createNeuralOde(o, data),
});
