/** Loss and accuracy of a model over a whole split, in fixed file order. */
import * as tf from '@tensorflow/tfjs';
import { batches, disposeBatch } from './data.js';
import { lossFor } from './losses.js';
import type { Dataset, Model, Params, Split } from './types.js';

export interface EvalResult {
  loss: number;
  accuracy: number;
  n: number;
}

export function evaluate(model: Model, params: Params, dataset: Dataset, split: Split, batchSize = 1000): EvalResult {
  const loss = lossFor(dataset.loss);
  let lossSum = 0;
  let correct = 0;
  let n = 0;
  for (const batch of batches(dataset, split, batchSize)) {
    const [l, c] = tf.tidy(() => {
      const { output } = model.forward(params, batch.x, { training: false });
      return [loss.value(output, batch), loss.correct(output, batch)];
    });
    lossSum += l.dataSync()[0]! * batch.size;
    correct += c.dataSync()[0]!;
    n += batch.size;
    l.dispose();
    c.dispose();
    disposeBatch(batch);
  }
  return { loss: n ? lossSum / n : NaN, accuracy: n ? correct / n : NaN, n };
}
