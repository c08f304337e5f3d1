/**
 * CMA-ES (Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv 1604.00772,
 * with positive recombination weights only) and its separable form sep-CMA-ES
 * (Ros & Hansen 2008, PPSN), which keeps only the diagonal of C.
 *
 * λ members x_i = m + σ y_i, y_i = B D z_i (C = B D² Bᵀ; sep: y_i = √diag(C) ⊙ z_i),
 * ranked by fitness; μ = ⌊λ/2⌋ weights w_i ∝ ln(μ + ½) − ln i, μ_eff = 1/Σw²;
 * ⟨y⟩ = Σ_{i≤μ} w_i y_{i:λ}, ⟨z⟩ likewise:
 *
 *   m   ← m + c_m σ ⟨y⟩
 *   p_σ ← (1 − c_σ) p_σ + √(c_σ(2 − c_σ)μ_eff) B⟨z⟩            (C^(−½)⟨y⟩; sep: ⟨z⟩)
 *   p_c ← (1 − c_c) p_c + h_σ √(c_c(2 − c_c)μ_eff) ⟨y⟩
 *   C   ← (1 − c_1 − c_μ) C + c_1 (p_c p_cᵀ + (1 − h_σ)c_c(2 − c_c) C) + c_μ Σ w_i y_i y_iᵀ
 *   σ   ← σ exp((c_σ/d_σ)(‖p_σ‖/E‖N(0, I)‖ − 1))
 *
 * with the tutorial's default constants (sep: c_1 and c_μ times (d + 2)/3).
 * The full form decomposes C every ⌈1/(10 d (c_1 + c_μ))⌉ generations by
 * Jacobi rotations in JavaScript, which limits it to FULL_CMA_LIMIT parameters.
 */
import { norm, symEig } from '../../src/linalg.js';
import { ascending } from './shaping.js';
import type { Strategy, StrategyState } from './strategy.js';

/** The most parameters the full covariance is kept for (a d × d Jacobi decomposition per few generations). */
export const FULL_CMA_LIMIT = 500;

interface Constants {
  mu: number;
  weights: number[];
  muEff: number;
  cSigma: number;
  dSigma: number;
  cc: number;
  c1: number;
  cMu: number;
  chi: number;
}

function constants(d: number, lambda: number, separable: boolean): Constants {
  const mu = Math.floor(lambda / 2);
  const raw = Array.from({ length: mu }, (_, i) => Math.log(mu + 0.5) - Math.log(i + 1));
  const total = raw.reduce((a, b) => a + b, 0);
  const weights = raw.map((w) => w / total);
  const muEff = 1 / weights.reduce((a, w) => a + w * w, 0);
  const cSigma = (muEff + 2) / (d + muEff + 5);
  const dSigma = 1 + 2 * Math.max(0, Math.sqrt((muEff - 1) / (d + 1)) - 1) + cSigma;
  const cc = (4 + muEff / d) / (d + 4 + (2 * muEff) / d);
  const scale = separable ? (d + 2) / 3 : 1;
  const c1 = Math.min(1, (scale * 2) / ((d + 1.3) ** 2 + muEff));
  const cMu = Math.min(1 - c1, (scale * 2 * (muEff - 2 + 1 / muEff)) / ((d + 2) ** 2 + muEff));
  const chi = Math.sqrt(d) * (1 - 1 / (4 * d) + 1 / (21 * d * d));
  return { mu, weights, muEff, cSigma, dSigma, cc, c1, cMu, chi };
}

/** B (row-major, columns are eigenvectors) and D = √eigenvalues of the d × d C. */
function decompose(C: Float64Array, d: number): { B: Float64Array; D: Float64Array } {
  const rows = Array.from({ length: d }, (_, i) => Array.from(C.subarray(i * d, (i + 1) * d)));
  const { values, vectors } = symEig(rows);
  const B = new Float64Array(d * d);
  const D = new Float64Array(d);
  values.forEach((v, k) => {
    D[k] = Math.sqrt(Math.max(v, 1e-300));
    for (let i = 0; i < d; i++) B[i * d + k] = vectors[k]![i]!;
  });
  return { B, D };
}

function createCma(separable: boolean): Strategy {
  /** y = B D z (full) or √diag(C) ⊙ z (sep), without σ. */
  const shapeNoise = (state: StrategyState, z: ArrayLike<number>, d: number): Float64Array => {
    const D = state['D']!;
    const y = new Float64Array(d);
    if (separable) {
      for (let j = 0; j < d; j++) y[j] = D[j]! * z[j]!;
      return y;
    }
    const B = state['B']!;
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += B[i * d + k]! * D[k]! * z[k]!;
      y[i] = s;
    }
    return y;
  };
  return {
    name: separable ? 'sep-cma-es' : 'cma-es',
    antithetic: false,
    shaping: null,
    defaults: () => ({ meanLr: 1 }),
    init(d, s) {
      const full = !separable;
      const C = new Float64Array(full ? d * d : d);
      if (full) for (let i = 0; i < d; i++) C[i * d + i] = 1;
      else C.fill(1);
      const B = new Float64Array(full ? d * d : 0);
      if (full) for (let i = 0; i < d; i++) B[i * d + i] = 1;
      return { sigma: Float64Array.of(s.sigma), pSigma: new Float64Array(d), pc: new Float64Array(d), C, B, D: new Float64Array(d).fill(1), decomposed: Float64Array.of(0) };
    },
    perturb(state, z, out) {
      const y = shapeNoise(state, z, z.length);
      const sigma = state['sigma']![0]!;
      for (let j = 0; j < z.length; j++) out[j] = sigma * y[j]!;
    },
    tell(state, g, s) {
      const d = g.mean.length;
      const k = constants(d, g.noise.length, separable);
      const sigma = state['sigma']![0]!;
      const order = ascending(g.fitness).slice(0, k.mu);
      const ys = order.map((i) => shapeNoise(state, g.noise[i]!, d));
      const yw = new Float64Array(d);
      const zw = new Float64Array(d);
      order.forEach((i, r) => {
        const w = k.weights[r]!;
        const z = g.noise[i]!;
        for (let j = 0; j < d; j++) {
          yw[j]! += w * ys[r]![j]!;
          zw[j]! += w * z[j]!;
        }
      });
      const delta = new Float64Array(d);
      for (let j = 0; j < d; j++) delta[j] = s.meanLr * sigma * yw[j]!;
      // C^(−½)⟨y⟩ = B⟨z⟩ (full); ⟨z⟩ (separable).
      let whitened = zw;
      if (!separable) {
        const B = state['B']!;
        whitened = new Float64Array(d);
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) whitened[i]! += B[i * d + j]! * zw[j]!;
      }
      const pSigma = new Float64Array(d);
      const cs = Math.sqrt(k.cSigma * (2 - k.cSigma) * k.muEff);
      for (let j = 0; j < d; j++) pSigma[j] = (1 - k.cSigma) * state['pSigma']![j]! + cs * whitened[j]!;
      const psNorm = norm(pSigma);
      const hSigma = psNorm / Math.sqrt(1 - (1 - k.cSigma) ** (2 * (g.generation + 1))) < (1.4 + 2 / (d + 1)) * k.chi ? 1 : 0;
      const pc = new Float64Array(d);
      const ccs = hSigma * Math.sqrt(k.cc * (2 - k.cc) * k.muEff);
      for (let j = 0; j < d; j++) pc[j] = (1 - k.cc) * state['pc']![j]! + ccs * yw[j]!;
      const keep = 1 - k.c1 - k.cMu + k.c1 * (1 - hSigma) * k.cc * (2 - k.cc);
      const C = state['C']!.map((v) => keep * v);
      if (separable) {
        for (let j = 0; j < d; j++) {
          let rank = 0;
          ys.forEach((y, r) => (rank += k.weights[r]! * y[j]! * y[j]!));
          C[j]! += k.c1 * pc[j]! * pc[j]! + k.cMu * rank;
        }
      } else {
        for (let i = 0; i < d; i++) {
          for (let j = 0; j < d; j++) {
            let rank = 0;
            for (let r = 0; r < ys.length; r++) rank += k.weights[r]! * ys[r]![i]! * ys[r]![j]!;
            C[i * d + j]! += k.c1 * pc[i]! * pc[j]! + k.cMu * rank;
          }
        }
      }
      const next: StrategyState = {
        sigma: Float64Array.of(sigma * Math.exp((k.cSigma / k.dSigma) * (psNorm / k.chi - 1))),
        pSigma,
        pc,
        C,
        B: state['B']!,
        D: state['D']!,
        decomposed: state['decomposed']!,
      };
      if (separable) next['D'] = C.map(Math.sqrt);
      else if (g.generation + 1 - state['decomposed']![0]! >= Math.ceil(1 / (10 * d * (k.c1 + k.cMu)))) {
        Object.assign(next, decompose(C, d), { decomposed: Float64Array.of(g.generation + 1) });
      }
      return { step: { kind: 'delta', delta }, state: next };
    },
    sigmas(state, d) {
      const sigma = state['sigma']![0]!;
      const C = state['C']!;
      return Float64Array.from({ length: d }, (_, j) => sigma * Math.sqrt(separable ? C[j]! : C[j * d + j]!));
    },
  };
}

export const cmaEs = createCma(false);
export const sepCmaEs = createCma(true);
