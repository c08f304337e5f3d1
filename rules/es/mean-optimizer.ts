/**
 * The optimizers that move the mean of a gradient-estimating strategy (OpenAI-ES,
 * PGPE) against its estimate ĝ, on flat vectors (their state is saved with the
 * rule's):
 *
 * - sgd: Δ = −η ĝ.
 * - adam (Kingma & Ba 2015; β₁ 0.9, β₂ 0.999, ε 1e-8): m ← β₁m + (1 − β₁)ĝ,
 *   v ← β₂v + (1 − β₂)ĝ², Δ = −η m̂/(√v̂ + ε) with bias-corrected m̂, v̂.
 * - clipup (Toklu, Liskowski, Srivastava 2020): v ← 0.9 v + η ĝ/‖ĝ‖, ‖v‖
 *   clipped to 2η, Δ = −v.
 */
import { norm } from '../../src/linalg.js';

export const MEAN_OPTIMIZERS = ['adam', 'sgd', 'clipup'] as const;
export type MeanOptimizer = (typeof MEAN_OPTIMIZERS)[number];

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;
const CLIPUP_MOMENTUM = 0.9;

export function initMeanOptimizer(kind: MeanOptimizer, d: number): Record<string, Float64Array> {
  switch (kind) {
    case 'adam':
      return { m: new Float64Array(d), v: new Float64Array(d), t: Float64Array.of(0) };
    case 'clipup':
      return { velocity: new Float64Array(d) };
    case 'sgd':
      return {};
  }
}

/** The change of the mean for estimate `g`, and the optimizer's next state. */
export function meanStep(kind: MeanOptimizer, lr: number, g: Float64Array, state: Record<string, Float64Array>): { delta: Float64Array; state: Record<string, Float64Array> } {
  const d = g.length;
  const delta = new Float64Array(d);
  switch (kind) {
    case 'sgd':
      for (let j = 0; j < d; j++) delta[j] = -lr * g[j]!;
      return { delta, state: {} };
    case 'adam': {
      const t = state['t']![0]! + 1;
      const m = new Float64Array(d);
      const v = new Float64Array(d);
      const c1 = 1 - BETA1 ** t;
      const c2 = 1 - BETA2 ** t;
      for (let j = 0; j < d; j++) {
        m[j] = BETA1 * state['m']![j]! + (1 - BETA1) * g[j]!;
        v[j] = BETA2 * state['v']![j]! + (1 - BETA2) * g[j]! * g[j]!;
        delta[j] = (-lr * (m[j]! / c1)) / (Math.sqrt(v[j]! / c2) + EPSILON);
      }
      return { delta, state: { m, v, t: Float64Array.of(t) } };
    }
    case 'clipup': {
      const length = norm(g);
      const velocity = new Float64Array(d);
      for (let j = 0; j < d; j++) velocity[j] = CLIPUP_MOMENTUM * state['velocity']![j]! + (length > 0 ? (lr * g[j]!) / length : 0);
      const speed = norm(velocity);
      const scale = speed > 2 * lr ? (2 * lr) / speed : 1;
      for (let j = 0; j < d; j++) {
        velocity[j]! *= scale;
        delta[j] = -velocity[j]!;
      }
      return { delta, state: { velocity } };
    }
  }
}
