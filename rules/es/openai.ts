/**
 * OpenAI-ES (Salimans, Ho, Chen, Sidor, Sutskever 2017, arXiv 1703.03864): an
 * isotropic Gaussian θ + σz around the mean, antithetic pairs, centered-rank
 * shaping, and the search-gradient estimate
 *
 *   ĝ = 1/(Pσ) Σ_i F̃_i z_i   (with pairs: Σ_k (F̃⁺_k − F̃⁻_k) z_k / (2nσ)),
 *
 * an estimate of ∇ of the Gaussian-smoothed loss that the mean optimizer
 * (Adam by default) follows. σ decays geometrically to a floor if asked
 * (evosax's σ schedule); constant by default.
 */
import { weightedSum, type Strategy } from './strategy.js';

export const openai: Strategy = {
  name: 'openai',
  antithetic: true,
  shaping: 'centered-rank',
  defaults: () => ({}),
  init: (_d, s) => ({ sigma: Float64Array.of(s.sigma) }),
  perturb(state, z, out) {
    const sigma = state['sigma']![0]!;
    for (let j = 0; j < z.length; j++) out[j] = sigma * z[j]!;
  },
  tell(state, g, s) {
    const sigma = state['sigma']![0]!;
    const d = g.mean.length;
    const P = g.noise.length;
    // With pairs, one difference per pair: swapping a pair's fitness negates its term exactly.
    const gradient = g.pairs
      ? weightedSum(
          g.noise.filter((_, i) => i % 2 === 0),
          Array.from({ length: P / 2 }, (_, k) => g.shaped[2 * k]! - g.shaped[2 * k + 1]!),
          d,
        )
      : weightedSum(g.noise, g.shaped, d);
    for (let j = 0; j < d; j++) gradient[j]! /= P * sigma;
    return { step: { kind: 'gradient', gradient }, state: { sigma: Float64Array.of(Math.max(s.sigmaMin, sigma * s.sigmaDecay)) } };
  },
  sigmas: (state, d) => new Float64Array(d).fill(state['sigma']![0]!),
};
