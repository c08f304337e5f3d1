/**
 * PGPE with symmetric sampling (Sehnke, Osendorfer, Rückstieß, Graves, Peters,
 * Schmidhuber 2010, Neural Networks): a per-parameter σ, pairs θ ± ε_k with
 * ε_k = σ ⊙ z_k, and, with F̃± the pair's shaped fitness and b their mean over
 * the population,
 *
 *   ĝ_μ = 1/n Σ_k ε_k (F̃⁺_k − F̃⁻_k)/2,
 *   ĝ_σ = 1/n Σ_k ((F̃⁺_k + F̃⁻_k)/2 − b) (ε_k² − σ²)/σ,
 *
 * the mean following ĝ_μ through the mean optimizer (ClipUp by default, as
 * EvoTorch's PGPE), σ ← σ − η_σ ĝ_σ with each σ_j kept within ±20% of its
 * previous value per generation (EvoTorch's stdev_max_change).
 */
import { diagonalGaussian, type Strategy } from './strategy.js';

/** The largest relative change of any σ_j in one generation. */
const MAX_SIGMA_CHANGE = 0.2;

export const pgpe: Strategy = {
  name: 'pgpe',
  antithetic: 'required',
  shaping: 'centered-rank',
  defaults: () => ({ sigmaLr: 0.1 }),
  ...diagonalGaussian,
  tell(state, g, s) {
    const sigma = state['sigma']!;
    const d = sigma.length;
    const pairs = g.noise.length / 2;
    let baseline = 0;
    for (const f of g.shaped) baseline += f / g.shaped.length;
    const gradient = new Float64Array(d);
    const gradSigma = new Float64Array(d);
    for (let k = 0; k < pairs; k++) {
      // Members 2k and 2k + 1 hold z_k and −z_k.
      const z = g.noise[2 * k]!;
      const half = (g.shaped[2 * k]! - g.shaped[2 * k + 1]!) / 2;
      const level = (g.shaped[2 * k]! + g.shaped[2 * k + 1]!) / 2 - baseline;
      for (let j = 0; j < d; j++) {
        const eps = sigma[j]! * z[j]!;
        gradient[j]! += (eps * half) / pairs;
        gradSigma[j]! += (level * (eps * eps - sigma[j]! * sigma[j]!)) / sigma[j]! / pairs;
      }
    }
    const next = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      const v = sigma[j]! - s.sigmaLr * gradSigma[j]!;
      next[j] = Math.min((1 + MAX_SIGMA_CHANGE) * sigma[j]!, Math.max((1 - MAX_SIGMA_CHANGE) * sigma[j]!, v));
    }
    return { step: { kind: 'gradient', gradient }, state: { sigma: next } };
  },
};
