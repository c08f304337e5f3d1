/**
 * What every evolution strategy provides to the `es` rule (rules/es.ts). The
 * rule owns the population: it draws each member's standard-normal noise z_i
 * from (generation seed, member) alone, evaluates the members θ_i = μ + y_i on
 * one shared batch, and hands the strategy the noise and the fitness (the
 * loss: lower is better). A strategy maps noise to perturbations y = A z and
 * turns a generation into a step of the mean: a gradient estimate, which the
 * rule's mean optimizer follows (OpenAI-ES, PGPE), or the change itself
 * (SNES, CMA-ES). Its state is a few flat vectors, saved with the rule's state.
 */
import type { Shaping } from './shaping.js';

export type StrategyState = Record<string, Float64Array>;

/** The settings strategies read (rules/es.ts resolves the `auto` ones per strategy). */
export interface StrategySettings {
  sigma: number;
  sigmaDecay: number;
  sigmaMin: number;
  /** PGPE's and SNES's step size for σ. */
  sigmaLr: number;
  /** SNES's and CMA-ES's step of the mean toward the recombined members. */
  meanLr: number;
}

export interface Generation {
  mean: Float64Array;
  /** Each member's noise z_i (length d; with pairs, members 2k and 2k + 1 hold z_k and −z_k). */
  noise: Float32Array[];
  /** Whether members come in antithetic pairs. */
  pairs: boolean;
  /** Each member's fitness (its loss or error rate). */
  fitness: Float64Array;
  /** The fitness shaped (larger = worse); strategies that rank members themselves ignore it. */
  shaped: Float64Array;
  /** Generations completed before this one. */
  generation: number;
}

export type MeanStep = { kind: 'gradient'; gradient: Float64Array } | { kind: 'delta'; delta: Float64Array };

export interface Strategy {
  name: string;
  /** Antithetic pairs (θ ± y) unless the command says otherwise; `required`: the strategy is defined on pairs. */
  antithetic: boolean | 'required';
  /** The shaping it uses unless told otherwise; null when it ranks members itself (CMA-ES). */
  shaping: Shaping | null;
  /** The settings it falls back on when the command leaves them at `auto`. */
  defaults(d: number): Partial<StrategySettings>;
  init(d: number, s: StrategySettings): StrategyState;
  /** y = A z: the perturbation in parameter space of noise z. */
  perturb(state: StrategyState, z: Float32Array, out: Float64Array): void;
  tell(state: StrategyState, g: Generation, s: StrategySettings): { step: MeanStep; state: StrategyState };
  /** The search distribution's per-parameter standard deviations (for the σ statistics). */
  sigmas(state: StrategyState, d: number): Float64Array;
}

/** Σ_i w_i z_i over members, as a length-d vector. */
export function weightedSum(noise: Float32Array[], weights: ArrayLike<number>, d: number): Float64Array {
  const out = new Float64Array(d);
  noise.forEach((z, i) => {
    const w = weights[i]!;
    if (w !== 0) for (let j = 0; j < d; j++) out[j]! += w * z[j]!;
  });
  return out;
}

/** A Gaussian with one σ per parameter (PGPE, SNES): state `sigma`, y = σ ⊙ z. */
export const diagonalGaussian: Pick<Strategy, 'init' | 'perturb' | 'sigmas'> = {
  init: (d, s) => ({ sigma: new Float64Array(d).fill(s.sigma) }),
  perturb(state, z, out) {
    const sigma = state['sigma']!;
    for (let j = 0; j < z.length; j++) out[j] = sigma[j]! * z[j]!;
  },
  sigmas: (state) => state['sigma']!,
};
