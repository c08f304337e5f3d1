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

/**
 * Eigenvalues only of a symmetric matrix, largest first: Householder reduction to
 * tridiagonal form (each reflection H = I − 2vvᵀ updates the trailing block as
 * A − v wᵀ − w vᵀ with w = 2(Av − (vᵀAv)v)), then bisection on Sturm counts for
 * each eigenvalue. About 4n³/3 operations instead of Jacobi's several sweeps of
 * 3n³ with eigenvectors, so a 256 × 256 Gram takes milliseconds; eigenvalues are
 * exact to a few units of rounding times ‖A‖.
 */
export function symEigenvalues(matrix: readonly (readonly number[])[]): number[] {
  const n = matrix.length;
  const a = matrix.map((row) => Float64Array.from(row));
  const v = new Float64Array(n);
  const w = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    let xnorm = 0;
    for (let i = k + 1; i < n; i++) xnorm += a[i]![k]! ** 2;
    xnorm = Math.sqrt(xnorm);
    if (xnorm === 0) continue;
    // Reflect column k below the diagonal onto −sign(x₀)‖x‖e₁ (the sign avoids cancellation in x₀ − α).
    const alpha = a[k + 1]![k]! > 0 ? -xnorm : xnorm;
    let vnorm = 0;
    for (let i = k + 1; i < n; i++) {
      v[i] = a[i]![k]! - (i === k + 1 ? alpha : 0);
      vnorm += v[i]! ** 2;
    }
    vnorm = Math.sqrt(vnorm);
    for (let i = k + 1; i < n; i++) v[i]! /= vnorm;
    let vav = 0;
    for (let i = k + 1; i < n; i++) {
      let p = 0;
      for (let j = k + 1; j < n; j++) p += a[i]![j]! * v[j]!;
      w[i] = p;
      vav += v[i]! * p;
    }
    for (let i = k + 1; i < n; i++) w[i] = 2 * (w[i]! - vav * v[i]!);
    for (let i = k + 1; i < n; i++) for (let j = k + 1; j < n; j++) a[i]![j]! -= v[i]! * w[j]! + w[i]! * v[j]!;
    a[k + 1]![k] = alpha;
    a[k]![k + 1] = alpha;
  }
  const d = Array.from({ length: n }, (_, i) => a[i]![i]!);
  const e2 = Array.from({ length: Math.max(0, n - 1) }, (_, i) => a[i + 1]![i]! ** 2);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const r = (i > 0 ? Math.sqrt(e2[i - 1]!) : 0) + (i < n - 1 ? Math.sqrt(e2[i]!) : 0);
    lo = Math.min(lo, d[i]! - r);
    hi = Math.max(hi, d[i]! + r);
  }
  const scale = Math.max(Math.abs(lo), Math.abs(hi));
  // A zero pivot is moved off zero by a rounding-sized amount (the count stays that of a nearby x).
  const nudge = Number.EPSILON * scale;
  /** How many eigenvalues are below x (Sturm sequence of the tridiagonal's leading minors). */
  const below = (x: number): number => {
    let count = 0;
    let q = 1;
    for (let i = 0; i < n; i++) {
      q = d[i]! - x - (i > 0 ? e2[i - 1]! / q : 0);
      if (q === 0) q = -nudge;
      if (q < 0) count++;
    }
    return count;
  };
  const values: number[] = [];
  for (let k = n - 1; k >= 0; k--) {
    // The k-th smallest eigenvalue: the smallest x with more than k eigenvalues below it.
    let left = lo;
    let right = hi;
    while (right - left > 4 * Number.EPSILON * scale) {
      const mid = (left + right) / 2;
      if (mid <= left || mid >= right) break;
      if (below(mid) > k) right = mid;
      else left = mid;
    }
    values.push((left + right) / 2);
  }
  return values;
}

/**
 * The best rank-r approximation of a rows × cols matrix (row-major), rescaled to
 * the Frobenius norm of the whole matrix (Liu et al. 2023's low-rank
 * initialisation): M_r = M V_r V_rᵀ, V_r the right singular vectors of the r
 * largest singular values (eigenvectors of MᵀM, in double precision), times
 * ‖M‖_F / ‖M_r‖_F. r ≥ min(rows, cols) returns M unchanged.
 */
export function truncateRank(m: Float32Array, rows: number, cols: number, r: number): Float32Array {
  if (r >= Math.min(rows, cols)) return m;
  const at = (i: number, j: number) => m[i * cols + j]!;
  const gram = Array.from({ length: cols }, (_, a) =>
    Array.from({ length: cols }, (_, b) => {
      let s = 0;
      for (let i = 0; i < rows; i++) s += at(i, a) * at(i, b);
      return s;
    }),
  );
  const v = symEig(gram).vectors.slice(0, r).map((vk) => Float64Array.from(vk));
  const out = new Float32Array(rows * cols);
  let full = 0;
  let kept = 0;
  for (let i = 0; i < rows; i++) {
    const row = Float64Array.from({ length: cols }, (_, j) => at(i, j));
    const coords = v.map((vk) => dot(row, vk));
    for (let j = 0; j < cols; j++) {
      const x = coords.reduce((s, c, k) => s + c * v[k]![j]!, 0);
      out[i * cols + j] = x;
      kept += x * x;
      full += row[j]! * row[j]!;
    }
  }
  const scale = kept > 0 ? Math.sqrt(full / kept) : 0;
  for (let k = 0; k < out.length; k++) out[k]! *= scale;
  return out;
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

/**
 * All eigenvalues of a real square matrix (not necessarily symmetric), in
 * double precision: reduction to upper Hessenberg form by stabilised
 * elimination, then Francis double-shift QR iterations with deflation (the
 * classical EISPACK elmhes/hqr scheme). Complex eigenvalues come in conjugate
 * pairs. Throws if an eigenvalue fails to converge in 60 iterations.
 */
export function eigenvalues(matrix: readonly (readonly number[])[]): { re: number; im: number }[] {
  const n = matrix.length;
  if (matrix.some((row) => row.length !== n)) throw new Error('eigenvalues: the matrix must be square');
  // 1-based working copy, as the algorithm is classically written.
  const a: number[][] = Array.from({ length: n + 1 }, (_, i) => (i === 0 ? new Array(n + 1).fill(0) : [0, ...matrix[i - 1]!]));
  for (let m = 2; m < n; m++) {
    let x = 0;
    let piv = m;
    for (let j = m; j <= n; j++) {
      if (Math.abs(a[j]![m - 1]!) > Math.abs(x)) {
        x = a[j]![m - 1]!;
        piv = j;
      }
    }
    if (piv !== m) {
      for (let j = m - 1; j <= n; j++) [a[piv]![j], a[m]![j]] = [a[m]![j]!, a[piv]![j]!];
      for (let j = 1; j <= n; j++) [a[j]![piv], a[j]![m]] = [a[j]![m]!, a[j]![piv]!];
    }
    if (x !== 0) {
      for (let i = m + 1; i <= n; i++) {
        let y = a[i]![m - 1]!;
        if (y === 0) continue;
        y /= x;
        a[i]![m - 1] = y;
        for (let j = m; j <= n; j++) a[i]![j]! -= y * a[m]![j]!;
        for (let j = 1; j <= n; j++) a[j]![m]! += y * a[j]![i]!;
      }
    }
  }
  for (let i = 1; i <= n; i++) for (let j = 1; j < i - 1; j++) a[i]![j] = 0;
  const wr = new Array(n + 1).fill(0);
  const wi = new Array(n + 1).fill(0);
  let anorm = 0;
  for (let i = 1; i <= n; i++) for (let j = Math.max(i - 1, 1); j <= n; j++) anorm += Math.abs(a[i]![j]!);
  const sign = (v: number, s: number) => (s >= 0 ? Math.abs(v) : -Math.abs(v));
  let nn = n;
  let t = 0;
  let p = 0, q = 0, r = 0, s = 0, w = 0, x = 0, y = 0, z = 0;
  while (nn >= 1) {
    let its = 0;
    let l: number;
    do {
      for (l = nn; l >= 2; l--) {
        s = Math.abs(a[l - 1]![l - 1]!) + Math.abs(a[l]![l]!);
        if (s === 0) s = anorm;
        if (Math.abs(a[l]![l - 1]!) + s === s) {
          a[l]![l - 1] = 0;
          break;
        }
      }
      x = a[nn]![nn]!;
      if (l === nn) {
        wr[nn] = x + t;
        wi[nn--] = 0;
      } else {
        y = a[nn - 1]![nn - 1]!;
        w = a[nn]![nn - 1]! * a[nn - 1]![nn]!;
        if (l === nn - 1) {
          p = 0.5 * (y - x);
          q = p * p + w;
          z = Math.sqrt(Math.abs(q));
          x += t;
          if (q >= 0) {
            z = p + sign(z, p);
            wr[nn - 1] = wr[nn] = x + z;
            if (z) wr[nn] = x - w / z;
            wi[nn - 1] = wi[nn] = 0;
          } else {
            wr[nn - 1] = wr[nn] = x + p;
            wi[nn - 1] = -(wi[nn] = z);
          }
          nn -= 2;
        } else {
          if (its === 60) throw new Error('eigenvalues: QR iterations did not converge');
          if (its === 10 || its === 20 || its === 40) {
            // Exceptional shift.
            t += x;
            for (let i = 1; i <= nn; i++) a[i]![i]! -= x;
            s = Math.abs(a[nn]![nn - 1]!) + Math.abs(a[nn - 1]![nn - 2]!);
            y = x = 0.75 * s;
            w = -0.4375 * s * s;
          }
          ++its;
          let m: number;
          for (m = nn - 2; m >= l; m--) {
            z = a[m]![m]!;
            r = x - z;
            s = y - z;
            p = (r * s - w) / a[m + 1]![m]! + a[m]![m + 1]!;
            q = a[m + 1]![m + 1]! - z - r - s;
            r = a[m + 2]![m + 1]!;
            s = Math.abs(p) + Math.abs(q) + Math.abs(r);
            p /= s;
            q /= s;
            r /= s;
            if (m === l) break;
            const u = Math.abs(a[m]![m - 1]!) * (Math.abs(q) + Math.abs(r));
            const v = Math.abs(p) * (Math.abs(a[m - 1]![m - 1]!) + Math.abs(z) + Math.abs(a[m + 1]![m + 1]!));
            if (u + v === v) break;
          }
          for (let i = m + 2; i <= nn; i++) {
            a[i]![i - 2] = 0;
            if (i !== m + 2) a[i]![i - 3] = 0;
          }
          for (let k = m; k <= nn - 1; k++) {
            if (k !== m) {
              p = a[k]![k - 1]!;
              q = a[k + 1]![k - 1]!;
              r = k !== nn - 1 ? a[k + 2]![k - 1]! : 0;
              x = Math.abs(p) + Math.abs(q) + Math.abs(r);
              if (x !== 0) {
                p /= x;
                q /= x;
                r /= x;
              }
            }
            s = sign(Math.sqrt(p * p + q * q + r * r), p);
            if (s !== 0) {
              if (k === m) {
                if (l !== m) a[k]![k - 1] = -a[k]![k - 1]!;
              } else a[k]![k - 1] = -s * x;
              p += s;
              x = p / s;
              y = q / s;
              z = r / s;
              q /= p;
              r /= p;
              for (let j = k; j <= nn; j++) {
                p = a[k]![j]! + q * a[k + 1]![j]!;
                if (k !== nn - 1) {
                  p += r * a[k + 2]![j]!;
                  a[k + 2]![j]! -= p * z;
                }
                a[k + 1]![j]! -= p * y;
                a[k]![j]! -= p * x;
              }
              const mmin = nn < k + 3 ? nn : k + 3;
              for (let i = l; i <= mmin; i++) {
                p = x * a[i]![k]! + y * a[i]![k + 1]!;
                if (k !== nn - 1) {
                  p += z * a[i]![k + 2]!;
                  a[i]![k + 2]! -= p * r;
                }
                a[i]![k + 1]! -= p * q;
                a[i]![k]! -= p;
              }
            }
          }
        }
      }
    } while (l < nn - 1);
  }
  return Array.from({ length: n }, (_, i) => ({ re: wr[i + 1]!, im: wi[i + 1]! }));
}
