/**
 * Separable natural evolution strategies (Schaul, Glasmachers, Schmidhuber
 * 2011; Wierstra et al. 2014, JMLR): a per-parameter σ, members μ + σ ⊙ z_i,
 * utilities u_i = −F̃_i (NES utilities by default: the better half weighted by
 * log rank, summing to 0), and the natural-gradient steps
 *
 *   μ ← μ + η_μ σ ⊙ Σ_i u_i z_i,   σ ← σ ⊙ exp(½ η_σ Σ_i u_i (z_i² − 1)),
 *
 * η_μ = 1, η_σ = (3 + ln d)/(5√d) unless given.
 */
import { diagonalGaussian, weightedSum, type Strategy } from './strategy.js';

export const snes: Strategy = {
  name: 'snes',
  antithetic: false,
  shaping: 'nes-utilities',
  defaults: (d) => ({ sigmaLr: (3 + Math.log(d)) / (5 * Math.sqrt(d)), meanLr: 1 }),
  ...diagonalGaussian,
  tell(state, g, s) {
    const sigma = state['sigma']!;
    const d = sigma.length;
    const utilities = Array.from(g.shaped, (f) => -f);
    const toward = weightedSum(g.noise, utilities, d);
    const spread = new Float64Array(d);
    g.noise.forEach((z, i) => {
      for (let j = 0; j < d; j++) spread[j]! += utilities[i]! * (z[j]! * z[j]! - 1);
    });
    const delta = new Float64Array(d);
    const next = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      delta[j] = s.meanLr * sigma[j]! * toward[j]!;
      next[j] = sigma[j]! * Math.exp(0.5 * s.sigmaLr * spread[j]!);
    }
    return { step: { kind: 'delta', delta }, state: { sigma: next } };
  },
};
