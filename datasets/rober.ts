/**
 * ROBER (Robertson 1966), the stiff chemical kinetics benchmark of Kim, Ji,
 * Deng, Ma, Rackauckas 2021 ("Stiff neural ordinary differential equations",
 * Chaos): three species with rate constants k = (0.04, 3e7, 1e4),
 *
 *   y1′ = −k1 y1 + k3 y2 y3,   y2′ = k1 y1 − k3 y2 y3 − k2 y2²,   y3′ = k2 y2²,
 *
 * y(0) = (1, 0, 0), observed at `--observations` times log-spaced from
 * `--t-first` to `--t-end` (50 from 1e-5 to 1e5). The reference solution is
 * computed here by a Rosenbrock method with step-doubling error control
 * (src/ode.ts; rtol 1e-8, atol 1e-12). With `--scaling max` (the default)
 * targets are scaled per species by their maximum over the observations (y2
 * peaks near 3.6e-5), as Kim et al. do, and the loss is the mean absolute error
 * on the scaled species; `--scaling none` trains on the raw concentrations,
 * where y2 is too small to move the loss (their point: without scaling the
 * fit misses it). Either way evaluations report `scaledMae`, the MAE on the
 * scaled species, so the two can be compared.
 *
 * One example: inputs [observations, 4] hold the scaled time τ = t/t_end in
 * channel 0 and the initial state in channels 1–3 (every row); targets
 * [observations, 3] the species, both in the training scale. The train and test splits are
 * that one trajectory (the benchmark fits it).
 */
import * as tf from '@tensorflow/tfjs';
import { defineDataset } from '../src/entries.js';
import { UsageError } from '../src/errors.js';
import { option, parse } from '../src/options.js';
import { solveStiff, type StiffSystem } from '../src/ode.js';
import type { Batch, Dataset, Split } from '../src/types.js';

const K = [0.04, 3e7, 1e4] as const;

export const robertson: StiffSystem = {
  dim: 3,
  f: ([y1, y2, y3]) => Float64Array.of(-K[0] * y1! + K[2] * y2! * y3!, K[0] * y1! - K[2] * y2! * y3! - K[1] * y2! * y2!, K[1] * y2! * y2!),
  jacobian: ([, y2, y3]) => [Float64Array.of(-K[0], K[2] * y3!, K[2] * y2!), Float64Array.of(K[0], -K[2] * y3! - 2 * K[1] * y2!, -K[2] * y2!), Float64Array.of(0, 2 * K[1] * y2!, 0)],
};

/** The species at each time, from y(0) = (1, 0, 0). */
export function roberSolution(times: readonly number[]): Float64Array[] {
  return solveStiff(robertson, Float64Array.of(1, 0, 0), 0, times, { rtol: 1e-8, atol: 1e-12, h0: 1e-8 });
}

export const rober = defineDataset({
  name: 'rober',
  description: 'ROBER stiff chemical kinetics: fit the 3-species trajectory at log-spaced times (MAE on species scaled by their maxima)',
  reference: 'Robertson 1966; Kim, Ji, Deng, Ma, Rackauckas 2021, Chaos',
  // One trajectory: every step trains on it.
  batchSize: 1,
  options: [
    option('observations', '--observations <n>', 'observation times, log-spaced', 50, parse.positiveInt),
    option('tFirst', '--t-first <t>', 'first observation time', 1e-5, parse.positiveNumber),
    option('tEnd', '--t-end <t>', 'last observation time (and the time scale of τ)', 1e5, parse.positiveNumber),
    option('scaling', '--scaling <how>', 'max: each species divided by its maximum over the observations (Kim et al.); none: raw concentrations', 'max' as 'max' | 'none', parse.choice(['max', 'none'] as const)),
  ],
  load: async (o) => {
    if (o.tFirst >= o.tEnd) throw new UsageError(`--t-first ${o.tFirst} must be below --t-end ${o.tEnd}`);
    if (o.observations < 2) throw new UsageError('--observations must be at least 2');
    const n = o.observations;
    const times = Array.from({ length: n }, (_, i) => o.tFirst * (o.tEnd / o.tFirst) ** (i / (n - 1)));
    const ys = roberSolution(times);
    const maxima = [0, 1, 2].map((k) => Math.max(...ys.map((y) => y[k]!)));
    const scale = o.scaling === 'max' ? maxima : [1, 1, 1];
    const x = new Float32Array(n * 4);
    const y = new Float32Array(n * 3);
    times.forEach((t, i) => {
      x.set([t / o.tEnd, 1 / scale[0]!, 0, 0], i * 4);
      y.set([0, 1, 2].map((k) => ys[i]![k]! / scale[k]!), i * 3);
    });
    const dataset: Dataset & { scale: number[]; times: number[] } = {
      name: 'rober',
      inputShape: [n, 4],
      outputSize: 3,
      loss: 'mae',
      scale,
      times,
      size: (split: Split) => (split === 'val' ? 0 : 1),
      // MAE on the species divided by their maxima, whatever the training scale.
      trialMetrics(_split: Split, _index: number, output: Float32Array) {
        let sum = 0;
        for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) sum += (Math.abs(output[i * 3 + k]! - y[i * 3 + k]!) * scale[k]!) / maxima[k]!;
        return { scaledMae: sum / (3 * n) };
      },
      batch(_split: Split, indices: ArrayLike<number>): Batch {
        const b = indices.length;
        const tile = (a: Float32Array, shape: number[]) => tf.tidy(() => tf.tile(tf.tensor(a, [1, ...shape]), [b, 1, 1]));
        return { x: tile(x, [n, 4]), y: tile(y, [n, 3]), size: b };
      },
    };
    return dataset;
  },
});
