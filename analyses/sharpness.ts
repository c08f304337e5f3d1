/**
 * Sharpness of the minimum, over the first --points examples of --split:
 *
 * - ε-sharpness (Keskar et al. 2017): 100 · (max_{z ∈ C_ε} L(θ + z) − L(θ)) / (1 + L(θ))
 *   over the box C_ε = {|z_i| ≤ ε(|θ_i| + 1)}, the maximum approached by
 *   --epsilon-steps projected sign-ascent steps;
 * - SAM sharpness (Foret et al. 2021): L(θ + ρ g/‖g‖) − L(θ), one ascent step to
 *   the sphere of radius ρ along the gradient.
 *
 * During training (`--analyze sharpness`): SAM sharpness with ρ = 0.05 on the
 * first --analyze-points training examples.
 */
import { defineAnalysis } from '../src/analysis/contract.js';
import { selectParams, type LossSurface } from '../src/analysis/hvp.js';
import { norm } from '../src/linalg.js';
import { option, parse } from '../src/options.js';
import { onSurface, onTrainingPoints, surfaceOptions } from './common.js';

const RHO = 0.05;

export interface SharpnessResult {
  points: number;
  split: 'train' | 'test';
  loss: number;
  /** Keskar et al.: 100 · (max_{z ∈ C_ε} L(θ+z) − L(θ)) / (1 + L(θ)), C_ε = {|z_i| ≤ ε(|θ_i|+1)}. */
  epsilon: { epsilon: number; steps: number; value: number };
  /** SAM (Foret et al.): L(θ + ρ g/‖g‖) − L(θ). */
  sam: { rho: number; value: number };
}

/** SAM sharpness L(θ + ρ g/‖g‖) − L(θ): one ascent step to the sphere of radius ρ along the gradient. */
export function samSharpness(surface: LossSurface, rho: number, at = surface.lossAndGrad()): number {
  const gn = norm(at.grad);
  return surface.evaluate(Float64Array.from(at.grad, (g) => (gn > 0 ? (rho * g) / gn : 0))).loss - at.loss;
}

export function sharpnessMeasures(surface: LossSurface, opts: { split: 'train' | 'test'; epsilon: number; epsilonSteps: number; rho: number }): SharpnessResult {
  const theta = surface.point();
  const { loss, grad } = surface.lossAndGrad();
  // ε-sharpness: projected sign ascent inside the box |z_i| ≤ ε(|θ_i| + 1).
  const bound = Float64Array.from(theta, (t) => opts.epsilon * (Math.abs(t) + 1));
  const z = new Float64Array(theta.length);
  let best = loss;
  for (let s = 0; s < opts.epsilonSteps; s++) {
    const g = s === 0 ? grad : surface.lossAndGrad(z).grad;
    for (let i = 0; i < z.length; i++) {
      const step = z[i]! + (bound[i]! / 2) * Math.sign(g[i]!);
      z[i] = Math.max(-bound[i]!, Math.min(bound[i]!, step));
    }
    best = Math.max(best, surface.evaluate(z).loss);
  }
  return {
    points: surface.n,
    split: opts.split,
    loss,
    epsilon: { epsilon: opts.epsilon, steps: opts.epsilonSteps, value: (100 * (best - loss)) / (1 + loss) },
    sam: { rho: opts.rho, value: samSharpness(surface, opts.rho, { loss, grad }) },
  };
}

export const sharpness = defineAnalysis({
  name: 'sharpness',
  key: 'sharpness',
  description: 'ε-sharpness (Keskar et al.) and SAM sharpness L(θ + ρ g/‖g‖) − L(θ) (in training: SAM, ρ = 0.05, first --analyze-points examples)',
  reference: 'Keskar et al. 2017; Foret et al. 2021 (SAM)',
  requires: ['differentiable'],
  options: [
    ...surfaceOptions,
    option('rho', '--rho <r>', 'SAM radius', RHO, parse.positiveNumber),
    option('epsilon', '--epsilon <e>', 'ε of ε-sharpness (box |z_i| ≤ ε(|θ_i|+1))', 1e-3, parse.positiveNumber),
    option('epsilonSteps', '--epsilon-steps <n>', 'projected ascent steps for ε-sharpness', 10, parse.positiveInt),
  ],
  check: (model, _dataset, o) => void selectParams(model, o.params ?? undefined),
  run: (ctx, o) => onSurface(ctx, o, (s) => sharpnessMeasures(s, o)),
  measure: (ctx) => onTrainingPoints(ctx, (s) => ({ samSharpness: samSharpness(s, RHO) })),
  columns: [
    { key: 'epsilonSharpness', title: 'ε-sharpness', digits: 3 },
    { key: 'samSharpness', title: 'SAM sharpness', digits: 4 },
  ],
  numbers: (r: SharpnessResult) => ({ epsilonSharpness: r.epsilon.value, samSharpness: r.sam.value }),
});
