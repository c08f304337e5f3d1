/**
 * A stiff ODE solver for small systems in double precision: the L-stable
 * two-stage Rosenbrock method ROS2 (Verwer, Spee, Blom, Hundsdorfer 1999,
 * SIAM J Sci Comput), γ = 1 + 1/√2,
 *
 *   (I − γhJ) k₁ = f(y),   (I − γhJ) k₂ = f(y + h k₁) − 2k₁,   y⁺ = y + (3/2)h k₁ + (1/2)h k₂,
 *
 * with J = ∂f/∂y at y, and step-size control by step doubling (one step of h
 * against two of h/2; the error estimate is their difference / 3, the method
 * being of order 2). It serves the reference solutions of stiff benchmarks
 * (ROBER), where explicit methods need steps below the fastest time scale.
 */

export interface StiffSystem {
  dim: number;
  f(y: Float64Array): Float64Array;
  jacobian(y: Float64Array): Float64Array[];
}

const GAMMA = 1 + 1 / Math.SQRT2;

/** Solves A x = b for a small dense A by Gaussian elimination with partial pivoting (A and b are copied). */
export function solveDense(A: readonly Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  const M = A.map((row) => Float64Array.from(row));
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    [x[c], x[p]] = [x[p]!, x[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k < n; k++) M[r]![k]! -= f * M[c]![k]!;
      x[r]! -= f * x[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let k = r + 1; k < n; k++) s -= M[r]![k]! * x[k]!;
    x[r] = s / M[r]![r]!;
  }
  return x;
}

/** One ROS2 step of size h from y. */
export function ros2Step(sys: StiffSystem, y: Float64Array, h: number): Float64Array {
  const n = sys.dim;
  const J = sys.jacobian(y);
  const A = J.map((row, i) => row.map((v, j) => (i === j ? 1 : 0) - GAMMA * h * v));
  const k1 = solveDense(A, sys.f(y));
  const f2 = sys.f(y.map((v, i) => v + h * k1[i]!));
  const k2 = solveDense(A, f2.map((v, i) => v - 2 * k1[i]!));
  return Float64Array.from({ length: n }, (_, i) => y[i]! + 1.5 * h * k1[i]! + 0.5 * h * k2[i]!);
}

export interface SolveOptions {
  /** Relative and absolute tolerances of the local error, per component. */
  rtol: number;
  atol: number;
  /** First step size. */
  h0: number;
}

/** y at each of the increasing `times` (> t0), from y(t0) = y0, with adaptive steps. */
export function solveStiff(sys: StiffSystem, y0: Float64Array, t0: number, times: readonly number[], o: SolveOptions): Float64Array[] {
  const out: Float64Array[] = [];
  let t = t0;
  let y = Float64Array.from(y0);
  let h = o.h0;
  for (const target of times) {
    while (t < target) {
      const last = h >= target - t;
      const step = last ? target - t : h;
      const full = ros2Step(sys, y, step);
      const half = ros2Step(sys, ros2Step(sys, y, step / 2), step / 2);
      let err = 0;
      for (let i = 0; i < sys.dim; i++) err = Math.max(err, Math.abs(half[i]! - full[i]!) / 3 / (o.atol + o.rtol * Math.abs(half[i]!)));
      const factor = Math.min(4, Math.max(0.2, 0.9 / Math.sqrt(Math.max(err, 1e-10))));
      if (err <= 1) {
        t = last ? target : t + step;
        // Richardson extrapolation of the two estimates (order 2 → 3).
        y = half.map((v, i) => v + (v - full[i]!) / 3);
        // A step shortened to land on an output time says nothing about the next one's size.
        if (!last) h = step * factor;
      } else {
        if (step < 1e-14 * Math.max(1, t)) throw new Error(`solveStiff: the step size fell below ${step} at t = ${t}`);
        h = step * factor;
      }
    }
    out.push(Float64Array.from(y));
  }
  return out;
}
