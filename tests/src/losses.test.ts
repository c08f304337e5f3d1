/** Every loss gives one value per member of a population equal to its batch value on that member's output. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { lossFor } from '../../src/losses.js';
import { Rng } from '../../src/rng.js';
import type { Batch, LossKind } from '../../src/types.js';

const rng = new Rng('losses');
const B = 6;
const T = 5;
const K = 3;
const normals = (shape: number[]) => tf.tensor(rng.normals(shape.reduce((a, b) => a * b, 1)), shape);
const mask = tf.tensor2d(Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? 0 : 1)), [B, T]);

/** An output shape and a batch for each loss kind. */
const CASES: Record<LossKind, { shape: number[]; batch: () => Batch }> = {
  'softmax-ce': { shape: [B, K], batch: () => ({ x: tf.zeros([B, 1]), y: tf.tensor1d([0, 1, 2, 2, 1, 0], 'int32'), size: B }) },
  'sigmoid-bce': { shape: [B, 1], batch: () => ({ x: tf.zeros([B, 1]), y: tf.tensor1d([0, 1, 1, 0, 1, 0], 'int32'), size: B }) },
  mse: { shape: [B, T, K], batch: () => ({ x: tf.zeros([B, T, 1]), y: normals([B, T, K]), mask, size: B }) },
  'mse-decision': { shape: [B, T, 1], batch: () => ({ x: tf.zeros([B, T, 1]), y: tf.sign(normals([B, T, 1])), mask, size: B }) },
  mae: { shape: [B, T, K], batch: () => ({ x: tf.zeros([B, T, 1]), y: normals([B, T, K]), mask, size: B }) },
  'sequence-ce': { shape: [B, T, K], batch: () => ({ x: tf.zeros([B, T, 1]), y: tf.oneHot(tf.tensor2d(Array.from({ length: B * T }, (_, i) => i % K), [B, T], 'int32'), K).toFloat(), mask, size: B }) },
};

describe.each(Object.entries(CASES) as [LossKind, (typeof CASES)[LossKind]][])('loss %s', (kind, c) => {
  it('values(outputs [P, B, …]) equals value(output_p) for every member p (within 1e-6)', () => {
    const loss = lossFor(kind);
    const batch = c.batch();
    const outputs = normals([4, ...c.shape]);
    const values = Array.from(loss.values(outputs, batch).dataSync());
    expect(values).toHaveLength(4);
    values.forEach((v, p) => {
      const single = loss.value(tf.squeeze(tf.slice(outputs, [p], [1]), [0]), batch).dataSync()[0]!;
      expect(Math.abs(v - single) / Math.max(1, Math.abs(single))).toBeLessThan(1e-6);
    });
    expect(new Set(values).size).toBe(4);
  });
});
