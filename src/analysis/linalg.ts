/**
 * Dense linear algebra in double precision on plain arrays, for the small
 * problems the curvature estimators reduce to (Lanczos tridiagonals, Gram
 * matrices of probe blocks, weight-matrix spectra). Vectors the size of a
 * network's parameters live in Float64Arrays so that re-orthogonalisation and
 * Rayleigh quotients do not lose the digits a float32 HVP still carries.
 */

export type Vec = Float64Array;

export function dot(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: Vec): number {
  return Math.sqrt(dot(a, a));
}

/** y ← y + α x, in place. */
export function axpy(alpha: number, x: Vec, y: Vec): void {
  for (let i = 0; i < y.length; i++) y[i]! += alpha * x[i]!;
}

export function scaled(alpha: number, x: Vec): Vec {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = alpha * x[i]!;
  return y;
}

/**
 * Removes from v its components along the orthonormal vectors in `basis`
 * (classical Gram-Schmidt applied twice, which keeps orthogonality to working
 * precision). In place.
 */
export function orthogonalize(v: Vec, basis: readonly Vec[]): void {
  for (let pass = 0; pass < 2; pass++) for (const q of basis) axpy(-dot(v, q), q, v);
}

/**
 * An orthonormal basis of the span of `vs` (Gram-Schmidt with
 * re-orthogonalisation); vectors that are numerically dependent are dropped.
 */
export function orthonormalBasis(vs: readonly Vec[]): Vec[] {
  const basis: Vec[] = [];
  for (const v of vs) {
    const w = Float64Array.from(v);
    const before = norm(w);
    orthogonalize(w, basis);
    const n = norm(w);
    if (n > 1e-10 * Math.max(before, 1e-300)) basis.push(scaled(1 / n, w));
  }
  return basis;
}

export interface SymEig {
  /** Eigenvalues, largest first. */
  values: number[];
  /** vectors[i] is the unit eigenvector of values[i]. */
  vectors: number[][];
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations. Exact to
 * working precision for the sizes used here (up to a few hundred); O(n³) per sweep.
 */
export function symEig(matrix: readonly (readonly number[])[]): SymEig {
  const n = matrix.length;
  const a = matrix.map((row) => Float64Array.from(row));
  const v = Array.from({ length: n }, (_, i) => {
    const r = new Float64Array(n);
    r[i] = 1;
    return r;
  });
  let scale = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) scale = Math.max(scale, Math.abs(a[i]![j]!));
  for (let sweep = 0; sweep < 100 && scale > 0; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (Math.sqrt(off) <= 1e-15 * scale * n) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (Math.abs(apq) <= 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j]![j]! - a[i]![i]!);
  return {
    values: order.map((i) => a[i]![i]!),
    vectors: order.map((i) => v.map((row) => row[i]!)),
  };
}

/** The symmetric tridiagonal matrix with diagonal `alpha` and off-diagonal `beta`. */
export function tridiagonal(alpha: readonly number[], beta: readonly number[]): number[][] {
  const m = alpha.length;
  return Array.from({ length: m }, (_, i) =>
    Array.from({ length: m }, (_, j) => (i === j ? alpha[i]! : Math.abs(i - j) === 1 ? beta[Math.min(i, j)]! : 0)),
  );
}

/** Mean and standard error of the mean. */
export function meanAndSe(xs: readonly number[]): { mean: number; se: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, se: NaN };
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}
