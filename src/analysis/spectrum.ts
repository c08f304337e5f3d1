/**
 * Spectral estimators over a symmetric linear operator known only through its
 * products (a Hessian through Hessian-vector products): top eigenvalues by
 * Lanczos with full re-orthogonalisation and by power iteration with deflation
 * (as PyHessian), the trace by Hutchinson and by Hutch++ (Meyer et al. 2021),
 * and the eigenvalue density by stochastic Lanczos quadrature (Ghorbani et al.
 * 2019; PyHessian).
 */
import type { Rng } from '../rng.js';
import { axpy, dot, meanAndSe, norm, orthogonalize, orthonormalBasis, scaled, symEig, tridiagonal, type Vec } from '../linalg.js';

export interface SymOperator {
  readonly dim: number;
  apply(v: Vec): Vec;
}

export function gaussianVec(rng: Rng, n: number): Vec {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return v;
}

export function rademacherVec(rng: Rng, n: number): Vec {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform() < 0.5 ? -1 : 1;
  return v;
}

export interface EigenResult {
  /** Eigenvalue estimates, largest first. */
  values: number[];
  /** Unit eigenvector estimates, in the order of `values`. */
  vectors: Vec[];
  /** Operator applications used. */
  matvecs: number;
  /** True when every requested value met the tolerance before the iteration limit. */
  converged: boolean;
  /** Per value, the relative residual ‖A x − λ x‖ / |λ| (Lanczos: |β_m s_m|/|θ|). */
  residuals: number[];
}

export interface IterOptions {
  /** Lanczos: stop when every top-k Ritz pair has relative residual ≤ tol. Power: relative change of λ between iterations. */
  tol?: number;
  /** Most operator applications (Lanczos) or iterations per eigenvalue (power). */
  maxIter?: number;
}

export const DEFAULT_TOL = 1e-3;
export const DEFAULT_MAX_ITER = 100;

interface Krylov {
  alpha: number[];
  beta: number[];
  basis: Vec[];
}

/**
 * Lanczos with full re-orthogonalisation from `start`. After each step,
 * `stop(krylov, b)` sees the tridiagonal so far and the norm b of the next
 * residual, and may end the iteration. Also ends when the Krylov space is
 * invariant (b ≈ 0), where the Ritz values are exact.
 */
function lanczos(op: SymOperator, start: Vec, steps: number, stop?: (k: Krylov, b: number) => boolean): Krylov {
  const k: Krylov = { alpha: [], beta: [], basis: [] };
  let v = scaled(1 / norm(start), start);
  steps = Math.min(steps, op.dim);
  let scale = 0;
  for (let j = 0; j < steps; j++) {
    k.basis.push(v);
    const w = op.apply(v);
    const a = dot(w, v);
    k.alpha.push(a);
    scale = Math.max(scale, Math.abs(a), Math.abs(k.beta[j - 1] ?? 0));
    orthogonalize(w, k.basis);
    const b = norm(w);
    const stopped = stop?.(k, b) ?? false;
    if (stopped || j === steps - 1 || b <= 1e-10 * scale) break;
    k.beta.push(b);
    v = scaled(1 / b, w);
  }
  return k;
}

/** Ritz vectors V s for the given tridiagonal eigenvectors. */
function ritzVectors(basis: readonly Vec[], coeffs: readonly number[][]): Vec[] {
  return coeffs.map((s) => {
    const x = new Float64Array(basis[0]!.length);
    s.forEach((c, i) => axpy(c, basis[i]!, x));
    return x;
  });
}

/** The k algebraically largest eigenpairs by Lanczos with full re-orthogonalisation. */
export function lanczosTopK(op: SymOperator, k: number, rng: Rng, opts: IterOptions = {}): EigenResult {
  const tol = opts.tol ?? DEFAULT_TOL;
  const maxIter = Math.max(opts.maxIter ?? DEFAULT_MAX_ITER, k);
  let residuals: number[] = [];
  let converged = false;
  const kry = lanczos(op, gaussianVec(rng, op.dim), maxIter, (kr, b) => {
    const m = kr.alpha.length;
    if (m < k) return false;
    const { values, vectors } = symEig(tridiagonal(kr.alpha, kr.beta));
    // For the Ritz pair (θ, V s): ‖A V s − θ V s‖ = b |s_m|.
    residuals = values.slice(0, k).map((t, i) => Math.abs(b * vectors[i]![m - 1]!) / Math.max(Math.abs(t), 1e-30));
    converged = residuals.every((r) => r <= tol);
    return converged;
  });
  const m = kry.alpha.length;
  const { values, vectors } = symEig(tridiagonal(kry.alpha, kry.beta));
  if (!converged && (m === op.dim || m < maxIter)) {
    // The Krylov space is the whole space or invariant: the Ritz values are eigenvalues.
    converged = true;
    residuals = values.slice(0, k).map(() => 0);
  }
  return {
    values: values.slice(0, k),
    vectors: ritzVectors(kry.basis, vectors.slice(0, k)),
    matvecs: m,
    converged,
    residuals: residuals.length ? residuals : values.slice(0, k).map(() => NaN),
  };
}

/**
 * The top-k eigenpairs by power iteration, deflating by keeping the iterate
 * orthogonal to the eigenvectors already found (PyHessian's procedure). Finds
 * the eigenvalues of largest magnitude; for a Hessian near a minimum these are
 * the largest.
 */
export function powerTopK(op: SymOperator, k: number, rng: Rng, opts: IterOptions = {}): EigenResult {
  const tol = opts.tol ?? DEFAULT_TOL;
  const maxIter = opts.maxIter ?? DEFAULT_MAX_ITER;
  const values: number[] = [];
  const vectors: Vec[] = [];
  const residuals: number[] = [];
  let matvecs = 0;
  let converged = true;
  for (let i = 0; i < k; i++) {
    let v = gaussianVec(rng, op.dim);
    orthogonalize(v, vectors);
    v = scaled(1 / norm(v), v);
    let lambda = NaN;
    let hv = op.apply(v);
    matvecs++;
    let ok = false;
    for (let it = 0; it < maxIter; it++) {
      const next = dot(v, hv);
      const change = Math.abs(next - lambda) / (Math.abs(lambda) + 1e-6);
      lambda = next;
      if (change < tol) {
        ok = true;
        break;
      }
      orthogonalize(hv, vectors);
      const n = norm(hv);
      if (n === 0) {
        ok = true;
        break;
      }
      v = scaled(1 / n, hv);
      hv = op.apply(v);
      matvecs++;
    }
    converged &&= ok;
    const r = Float64Array.from(hv);
    axpy(-lambda, v, r);
    values.push(lambda);
    vectors.push(v);
    residuals.push(norm(r) / Math.max(Math.abs(lambda), 1e-30));
  }
  const order = values.map((_, i) => i).sort((a, b) => values[b]! - values[a]!);
  return {
    values: order.map((i) => values[i]!),
    vectors: order.map((i) => vectors[i]!),
    matvecs,
    converged,
    residuals: order.map((i) => residuals[i]!),
  };
}

export interface TraceEstimate {
  trace: number;
  /** Standard error of the estimate (of its stochastic part, for Hutch++). */
  se: number;
  matvecs: number;
}

/** Hutchinson's estimator with Rademacher probes: tr A ≈ mean zᵀ A z. */
export function hutchinson(op: SymOperator, probes: number, rng: Rng): TraceEstimate {
  const samples: number[] = [];
  for (let i = 0; i < probes; i++) {
    const z = rademacherVec(rng, op.dim);
    samples.push(dot(z, op.apply(z)));
  }
  const { mean, se } = meanAndSe(samples);
  return { trace: mean, se, matvecs: probes };
}

/**
 * Hutch++ (Meyer, Musco, Musco, Woodruff 2021) with `matvecs` products split in
 * three: a sketch Q = orth(A S) of the dominant range (S Gaussian), its exact trace
 * tr(Qᵀ A Q), and Hutchinson on the deflated remainder (I − QQᵀ) A (I − QQᵀ),
 * whose standard error is the reported one.
 */
export function hutchPlusPlus(op: SymOperator, matvecs: number, rng: Rng): TraceEstimate {
  const third = Math.max(1, Math.floor(matvecs / 3));
  // Gaussian sketch vectors: unlike sign vectors, never exactly dependent in small dimensions.
  const sketch = Array.from({ length: third }, () => op.apply(gaussianVec(rng, op.dim)));
  const q = orthonormalBasis(sketch);
  let low = 0;
  for (const qi of q) low += dot(qi, op.apply(qi));
  const samples: number[] = [];
  for (let i = 0; i < third; i++) {
    const g = rademacherVec(rng, op.dim);
    orthogonalize(g, q);
    samples.push(dot(g, op.apply(g)));
  }
  const { mean, se } = meanAndSe(samples);
  return { trace: low + mean, se, matvecs: third + q.length + third };
}

export interface Density {
  /** Grid of eigenvalues. */
  grid: number[];
  /** Smoothed density on the grid (integrates to 1). */
  density: number[];
  /** Ritz values and quadrature weights of each run (weights sum to 1 per run). */
  nodes: number[][];
  weights: number[][];
  /** Variance of the Gaussian kernel. */
  sigma2: number;
  matvecs: number;
}

export interface DensityOptions {
  /** Lanczos steps per run. */
  steps?: number;
  /** Independent runs (random start vectors) averaged. */
  runs?: number;
  /** Grid size. */
  bins?: number;
  /** Kernel variance relative to the spectrum's width (PyHessian: 1e-5). */
  sigmaSquared?: number;
}

/**
 * Spectral density by stochastic Lanczos quadrature: each run's Ritz values θ_j
 * with weights τ_j = (first component of the j-th tridiagonal eigenvector)²
 * approximate the spectral measure seen from a random start vector; runs are
 * averaged and each node is smoothed by a Gaussian of variance
 * sigmaSquared · max(1, λ_max − λ_min), as PyHessian does.
 */
export function slqDensity(op: SymOperator, rng: Rng, opts: DensityOptions = {}): Density {
  const steps = opts.steps ?? 30;
  const runs = opts.runs ?? 1;
  const bins = opts.bins ?? 400;
  const nodes: number[][] = [];
  const weights: number[][] = [];
  let matvecs = 0;
  for (let r = 0; r < runs; r++) {
    const kry = lanczos(op, gaussianVec(rng, op.dim), steps);
    matvecs += kry.alpha.length;
    const { values, vectors } = symEig(tridiagonal(kry.alpha, kry.beta));
    nodes.push(values);
    weights.push(vectors.map((s) => s[0]! ** 2));
  }
  const all = nodes.flat();
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const sigma2 = (opts.sigmaSquared ?? 1e-5) * Math.max(1, hi - lo);
  const pad = 0.01 * Math.max(hi - lo, 1e-6) + 3 * Math.sqrt(sigma2);
  const grid = Array.from({ length: bins }, (_, i) => lo - pad + ((hi - lo + 2 * pad) * i) / (bins - 1));
  const density = grid.map((x) => {
    let d = 0;
    nodes.forEach((ns, r) =>
      ns.forEach((t, j) => (d += (weights[r]![j]! * Math.exp(-((x - t) ** 2) / (2 * sigma2))) / Math.sqrt(2 * Math.PI * sigma2))),
    );
    return d / runs;
  });
  // Renormalise on the grid so the plotted curve integrates to one.
  const h = (grid[1]! - grid[0]!) || 1;
  const total = density.reduce((a, b) => a + b, 0) * h;
  return { grid, density: total > 0 ? density.map((d) => d / total) : density, nodes, weights, sigma2, matvecs };
}

/**
 * The operator as a dense matrix, built column by column (dim products) and
 * symmetrised; for networks small enough to check the estimators exactly.
 */
export function denseMatrix(op: SymOperator): number[][] {
  const cols: Vec[] = [];
  for (let j = 0; j < op.dim; j++) {
    const e = new Float64Array(op.dim);
    e[j] = 1;
    cols.push(op.apply(e));
  }
  return Array.from({ length: op.dim }, (_, i) => Array.from({ length: op.dim }, (_, j) => (cols[j]![i]! + cols[i]![j]!) / 2));
}
