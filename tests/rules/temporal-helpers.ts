/** Shared by the temporal-rule reference tests: a small random trial and the updates a rule makes on it. */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { lossFor } from '../../src/losses.js';
import { Rng } from '../../src/rng.js';
import type { Batch, LearningRule, Model, Params } from '../../src/types.js';

/** Random inputs u [B][T][I], targets y [B][T][O] and a mask that drops every third step (from `offset`). */
export function randomTrial(seed: string, [B, T, I, O]: [number, number, number, number], offset = 0) {
  const rng = new Rng(seed);
  const u = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: I }, () => rng.normal())));
  const y = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: O }, () => rng.normal())));
  const m: number[][] = Array.from({ length: B }, () => Array.from({ length: T }, (_, t) => (t % 3 === offset ? 0 : 1)));
  const batch: Batch = { x: tf.tensor3d(u), y: tf.tensor3d(y), mask: tf.tensor2d(m), size: B };
  return { u, y, m, batch };
}

/** The rule's updates for one step on `batch` (masked mse), as flat arrays. */
export function updatesOf(rule: LearningRule, s: { model: Model; params: Params; batch: Batch }): Record<string, number[]> {
  const state = rule.init(s.model, s.params, new Rng('fb'));
  const out = rule.step({ model: s.model, params: s.params, batch: s.batch, loss: lossFor('mse'), state, step: 0, rng: new Rng('r') });
  return Object.fromEntries(Object.entries(out.updates).map(([k, v]) => [k, Array.from(v.dataSync())]));
}

/** Entrywise agreement relative to the largest entry of `want`. */
export function expectClose(got: number[], want: number[], tol = 1e-4): void {
  const scale = Math.max(...want.map(Math.abs), 1e-12);
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i]!) / scale).toBeLessThan(tol));
}
