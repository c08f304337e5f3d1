/**
 * Loss and accuracy of a model over a whole split, in fixed file order; for
 * regression tasks (`mse`, `mae`) also the normalized error Σ m‖z − y‖² / Σ m‖y‖²
 * (the metric of Murray 2019 and of the full-FORCE demos) and the mean
 * absolute error Σ m|z − y| / Σ m (FORCE's test MAE).
 */
import * as tf from '@tensorflow/tfjs';
import { batches, disposeBatch } from './data.js';
import { isRegression, lossFor } from './losses.js';
import type { Dataset, Model, Params, Split } from './types.js';

export interface EvalResult {
  loss: number;
  accuracy: number;
  n: number;
  /** Normalized squared error over the split (regression tasks only). */
  nmse?: number;
  /** Mean absolute error per counted output value (regression tasks only). */
  mae?: number;
  /** The task's own measures (Dataset.trialMetrics), averaged over the split's examples. */
  task?: Record<string, number>;
}

export function evaluate(model: Model, params: Params, dataset: Dataset, split: Split, batchSize = 1000, limit = Infinity): EvalResult {
  const loss = lossFor(dataset.loss);
  let lossSum = 0;
  let correct = 0;
  let n = 0;
  const sums = [0, 0, 0, 0];
  const regression = isRegression(dataset.loss);
  const task: Record<string, number> = {};
  for (const batch of batches(dataset, split, Math.min(batchSize, model.maxBatch ?? batchSize), undefined, limit)) {
    const [l, c] = tf.tidy(() => {
      const { output } = model.forward(params, batch.x, { training: false });
      // Batches come in file order: example n + b is row b.
      if (dataset.trialMetrics) {
        const rows = output.dataSync() as Float32Array;
        const per = rows.length / batch.size;
        for (let b = 0; b < batch.size; b++) {
          for (const [k, v] of Object.entries(dataset.trialMetrics(split, n + b, rows.subarray(b * per, (b + 1) * per)))) task[k] = (task[k] ?? 0) + v;
        }
      }
      if (regression) {
        const m = batch.mask ? tf.expandDims(batch.mask, -1) : tf.onesLike(output);
        sums[0]! += tf.sum(tf.mul(m, tf.square(tf.sub(output, batch.y)))).dataSync()[0]!;
        sums[1]! += tf.sum(tf.mul(m, tf.square(batch.y))).dataSync()[0]!;
        sums[2]! += tf.sum(tf.mul(m, tf.abs(tf.sub(output, batch.y)))).dataSync()[0]!;
        sums[3]! += tf.sum(tf.mul(m, tf.onesLike(output))).dataSync()[0]!;
      }
      return [loss.value(output, batch), loss.correct(output, batch)];
    });
    lossSum += l.dataSync()[0]! * batch.size;
    correct += c.dataSync()[0]!;
    n += batch.size;
    l.dispose();
    c.dispose();
    disposeBatch(batch);
  }
  const taskMeans = Object.fromEntries(Object.entries(task).map(([k, v]) => [k, v / n]));
  return {
    loss: n ? lossSum / n : NaN,
    accuracy: n ? correct / n : NaN,
    n,
    ...(regression ? { nmse: sums[1]! > 0 ? sums[0]! / sums[1]! : NaN, mae: sums[3]! > 0 ? sums[2]! / sums[3]! : NaN } : {}),
    ...(Object.keys(taskMeans).length ? { task: taskMeans } : {}),
  };
}
