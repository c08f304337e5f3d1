/**
 * Sign-constrained least squares for many right-hand sides that share one
 * Gram matrix: the windowed solver of E/I target learning (Ingrosso & Abbott
 * 2019). Target-based learning of a weight matrix M [N, m] read through rates
 * r [1, N] minimises Σ_t ‖r_t M − f_t‖² + α‖M‖², one independent problem per
 * column (postsynaptic unit), all with the Gram matrix G = Σ r_tᵀ r_t + α I and
 * right-hand sides B = Σ r_tᵀ f_t:
 *
 *   min_M  ½ tr(Mᵀ G M) − tr(Bᵀ M)   subject to M ∈ C,
 *
 * C fixing the sign of every entry (Dale's law: J_ij = s_j a_ij, a ≥ 0) and
 * zeroing some (no autapses, a readout from E units only). With the signs
 * substituted each column is a nonnegative least-squares problem; `project`
 * is the Euclidean projection onto C, so projected gradient solves all columns
 * at once with matrix products. The method is FISTA (Beck & Teboulle 2009)
 * with step 1/L, L ≥ λ_max(G), and the gradient restart of O'Donoghue & Candès
 * (2015), which keeps it monotone; warm-started from the current weights it
 * needs few iterations once learning has settled.
 */
import * as tf from '@tensorflow/tfjs';

export interface ConstrainedSolveOptions {
  /** Projection onto the feasible set C. */
  project: (m: tf.Tensor2D) => tf.Tensor2D;
  /** Iterations at most. */
  maxIterations: number;
  /** Stop when an iteration moves M by less than this, relative to ‖M‖ (checked every 10 iterations). */
  tolerance: number;
}

export interface ConstrainedSolve {
  M: tf.Tensor2D;
  iterations: number;
}

/** An upper bound of λ_max of the symmetric positive semidefinite G: power iteration, then a 1% margin. */
export function largestEigenvalue(G: tf.Tensor2D, iterations = 50): number {
  return tf.tidy(() => {
    let v = tf.div(tf.ones([G.shape[0], 1]), Math.sqrt(G.shape[0])) as tf.Tensor2D;
    let lambda = 0;
    for (let i = 0; i < iterations; i++) {
      const w = tf.matMul(G, v);
      const norm = tf.norm(w).dataSync()[0]!;
      if (norm === 0) return 0;
      if (Math.abs(norm - lambda) <= 1e-6 * norm) {
        lambda = norm;
        break;
      }
      lambda = norm;
      v = tf.div(w, norm) as tf.Tensor2D;
    }
    return 1.01 * lambda;
  });
}

/** min ½ tr(Mᵀ G M) − tr(Bᵀ M) over M ∈ C, from `start` (projected first). */
export function constrainedLeastSquares(G: tf.Tensor2D, B: tf.Tensor2D, start: tf.Tensor2D, o: ConstrainedSolveOptions): ConstrainedSolve {
  const L = largestEigenvalue(G);
  if (!(L > 0)) return { M: tf.tidy(() => o.project(start)), iterations: 0 };
  let M = tf.tidy(() => o.project(start));
  let Y = tf.clone(M);
  let theta = 1;
  let iterations = 0;
  while (iterations < o.maxIterations) {
    iterations++;
    const next = tf.tidy(() => o.project(tf.sub(Y, tf.div(tf.sub(tf.matMul(G, Y), B), L)) as tf.Tensor2D));
    // Restart the momentum when it points uphill: ⟨Y − M⁺, M⁺ − M⟩ > 0.
    const uphill = tf.tidy(() => tf.sum(tf.mul(tf.sub(Y, next), tf.sub(next, M))).dataSync()[0]! > 0);
    const thetaNext = uphill ? 1 : (1 + Math.sqrt(1 + 4 * theta * theta)) / 2;
    const beta = uphill ? 0 : (theta - 1) / thetaNext;
    const moved = iterations % 10 === 0 ? tf.tidy(() => tf.norm(tf.sub(next, M)).dataSync()[0]! / Math.max(tf.norm(next).dataSync()[0]!, 1e-30)) : Infinity;
    Y.dispose();
    Y = tf.tidy(() => tf.add(next, tf.mul(tf.sub(next, M), beta)) as tf.Tensor2D);
    M.dispose();
    M = next;
    theta = thetaNext;
    if (moved < o.tolerance) break;
  }
  Y.dispose();
  return { M, iterations };
}
