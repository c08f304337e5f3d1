/**
 * Max-margin predictors of gated linear networks (Lippl, Abbott, Chung 2022),
 * the limits that gradient descent on the logistic loss approaches in
 * direction on separable data.
 *
 * The function class: units h = 1..H, each with a context c_h(x) ∈ {0..C−1}
 * given by its fixed gates, and f(x) = Σ_h β_{h, c_h(x)} · x, β_hc ∈ R^D. For a
 * one-layer (shallow) GLN H = 1 and β are its weights; for a two-layer GLN with
 * an ungated linear readout a, β_hc = a_h w_hc.
 *
 * - `svm(kernel)`: the hard-margin SVM without bias, min ½‖w‖² s.t. y_i w·φ(x_i) ≥ 1,
 *   by coordinate ascent on its dual max Σα − ½ αyᵀ K αy, α ≥ 0 (Hsieh et al.
 *   2008, with C = ∞). Stops when every margin is ≥ 1 − tol and every support
 *   vector's margin ≤ 1 + tol.
 * - `l2MaxMargin`: min Σ_hc ‖β_hc‖² (the plain L2 norm over the class): one SVM
 *   with kernel K = Σ_h K_h, K_h(x, x') = 1[c_h(x) = c_h(x')] x·x'. For H = 1
 *   this is an independent hard-margin SVM per context.
 * - `groupNormMaxMargin`: min Σ_h (Σ_c ‖β_hc‖²)^½ s.t. margins ≥ 1 (the
 *   two-layer GLN's bias), through the variational form ‖β_h‖ = min_η ½(‖β_h‖²/η + η):
 *   for fixed η it is the SVM with kernel Σ_h η_h K_h (β_h = η_h Σ_i α_i y_i φ_h(x_i)),
 *   and the best η for fixed β is η_h = ‖β_h‖. Alternating the two never
 *   increases the objective (block coordinate descent on a jointly convex function).
 *
 * Labels are ±1. Kernels and β are built with tfjs matrix products; the dual
 * iterations run on Float64Arrays.
 */
import * as tf from '@tensorflow/tfjs';

export interface SvmOptions {
  /** Tolerance on the margins (1 ± tol). */
  tol: number;
  maxEpochs: number;
  /** Warm start. */
  alpha?: Float64Array;
}

export interface SvmResult {
  alpha: Float64Array;
  /** Dual objective Σα − ½αyᵀKαy (= ½‖w‖² at the optimum). */
  dual: number;
  /** ½‖w‖² of the current iterate (primal objective). */
  primal: number;
  /** min_i y_i f(x_i). */
  minMargin: number;
  epochs: number;
  converged: boolean;
  /** False when the data look inseparable (the dual grows without bound). */
  separable: boolean;
}

/** Hard-margin SVM dual coordinate ascent on a full kernel matrix K [n×n] (row-major) and labels ±1. */
export function svm(K: Float64Array, y: Float64Array, opts: Partial<SvmOptions> = {}): SvmResult {
  const n = y.length;
  const tol = opts.tol ?? 1e-4;
  const maxEpochs = opts.maxEpochs ?? 5000;
  const alpha = opts.alpha ? Float64Array.from(opts.alpha) : new Float64Array(n);
  // f_i = Σ_j α_j y_j K_ij
  const f = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    if (alpha[j] === 0) continue;
    const a = alpha[j]! * y[j]!;
    for (let i = 0; i < n; i++) f[i]! += a * K[i * n + j]!;
  }
  let epochs = 0;
  let converged = false;
  let separable = true;
  let sumAlpha = alpha.reduce((a, b) => a + b, 0);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let seed = 12345;
  for (; epochs < maxEpochs; epochs++) {
    // Fixed-seed shuffle of the visiting order (the result does not depend on the run seed).
    for (let i = n - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const j = seed % (i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    let worst = 0;
    for (const i of order) {
      const kii = K[i * n + i]!;
      if (kii <= 0) continue;
      const m = y[i]! * f[i]!;
      const g = 1 - m;
      const violation = alpha[i]! > 0 ? Math.abs(g) : Math.max(0, g);
      if (violation > worst) worst = violation;
      const next = Math.max(0, alpha[i]! + g / kii);
      const d = next - alpha[i]!;
      if (d === 0) continue;
      alpha[i] = next;
      sumAlpha += d;
      const dy = d * y[i]!;
      const row = i * n;
      for (let k = 0; k < n; k++) f[k]! += dy * K[row + k]!;
    }
    if (worst <= tol) {
      converged = true;
      epochs++;
      break;
    }
    if (!Number.isFinite(sumAlpha) || sumAlpha > 1e12) {
      separable = false;
      break;
    }
  }
  let wNorm2 = 0;
  let minMargin = Infinity;
  for (let i = 0; i < n; i++) {
    wNorm2 += alpha[i]! * y[i]! * f[i]!;
    minMargin = Math.min(minMargin, y[i]! * f[i]!);
  }
  // Inseparable data leave some margin ≤ 0 while α grows without bound.
  if (!converged && minMargin <= 0) separable = false;
  return { alpha, dual: sumAlpha - 0.5 * wNorm2, primal: 0.5 * wNorm2, minMargin, epochs, converged, separable };
}

/** Training data of the max-margin problems. */
export interface GatedData {
  /** Inputs [n, D]. */
  x: tf.Tensor2D;
  /** Labels ±1. */
  y: Float64Array;
  /** Context of every unit on every example [n, H] (int32). */
  contexts: tf.Tensor2D;
  /** Contexts per unit. */
  C: number;
}

/** One-hot contexts scaled per unit: E_c[i, h] = s_h 1[c_h(x_i) = c], for every c. */
function contextOneHots(ctx: tf.Tensor2D, C: number, scale?: tf.Tensor1D): tf.Tensor2D[] {
  return tf.tidy(() => {
    return Array.from({ length: C }, (_, c) => {
      const e = tf.cast(tf.equal(ctx, c), 'float32') as tf.Tensor2D;
      return scale ? (tf.mul(e, scale) as tf.Tensor2D) : e;
    });
  });
}

/**
 * K = (X Xᵀ) ⊙ Σ_h η_h 1[c_h(x_i) = c_h(x_j)], the context term as one product E Eᵀ
 * with E [n, H·C] the one-hot contexts scaled by √η_h.
 */
function gatedKernel(d: GatedData, eta: Float64Array, gram: tf.Tensor2D): Float64Array {
  const k = tf.tidy(() => {
    const n = d.x.shape[0];
    const H = d.contexts.shape[1];
    const onehot = d.C > 1 ? tf.oneHot(d.contexts, d.C).toFloat() : tf.ones([n, H, 1]);
    const e = tf.reshape(tf.mul(onehot, tf.reshape(tf.sqrt(tf.tensor1d(Float32Array.from(eta))), [1, H, 1])), [n, H * d.C]) as tf.Tensor2D;
    return tf.mul(gram, tf.matMul(e, e, false, true));
  });
  const out = Float64Array.from(k.dataSync());
  k.dispose();
  return out;
}

/** β_hc = η_h Σ_i α_i y_i 1[c_h(x_i) = c] x_i, as a tensor [C, D, H]. */
export function betaFromDual(d: GatedData, alpha: Float64Array, eta: Float64Array): tf.Tensor3D {
  return tf.tidy(() => {
    const ay = tf.tensor1d(Float32Array.from(alpha, (a, i) => a * d.y[i]!));
    const xs = tf.mul(d.x, tf.expandDims(ay, 1)) as tf.Tensor2D;
    const es = contextOneHots(d.contexts, d.C, tf.tensor1d(Float32Array.from(eta)));
    return tf.stack(es.map((e) => tf.matMul(xs, e, true, false))) as tf.Tensor3D;
  });
}

/** Per-unit norms ‖β_h‖ = (Σ_c ‖β_hc‖²)^½ of β [C, D, H]. */
export function unitNorms(beta: tf.Tensor3D): Float64Array {
  const v = tf.tidy(() => tf.sqrt(tf.sum(tf.square(beta), [0, 1])));
  const out = Float64Array.from(v.dataSync());
  v.dispose();
  return out;
}

/** f(x) = Σ_h β_{h, c_h(x)} · x for inputs x [m, D] with contexts [m, H]; returns [m]. */
export function predictGated(beta: tf.Tensor3D, x: tf.Tensor2D, contexts: tf.Tensor2D): Float32Array {
  const C = beta.shape[0];
  const out = tf.tidy(() => {
    let f = tf.zeros([x.shape[0]]);
    for (let c = 0; c < C; c++) {
      const proj = tf.matMul(x, tf.squeeze(tf.slice(beta, [c, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D); // [m, H]
      const g = tf.cast(tf.equal(contexts, c), 'float32');
      f = tf.add(f, tf.sum(tf.mul(proj, g), 1));
    }
    return f;
  });
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return Float32Array.from(v);
}

export interface MaxMarginResult {
  /** β [C, D, H] (the caller disposes it). */
  beta: tf.Tensor3D;
  /** The objective of β scaled to margin exactly 1 (an upper bound on the optimum): Σ_h ‖β_h‖ (group norm) or ½Σ‖β_hc‖² (L2). */
  objective: number;
  /** A lower bound on the optimum from the dual iterate (weak duality); objective − lowerBound bounds the error. */
  lowerBound: number;
  /** min_i y_i f(x_i) of β on the training data (1 at the optimum). */
  minMargin: number;
  converged: boolean;
  separable: boolean;
  /** SVM epochs (L2) or reweighting rounds (group norm). */
  iterations: number;
}

function units(d: GatedData): number {
  return d.contexts.shape[1];
}

function withGram<T>(d: GatedData, f: (gram: tf.Tensor2D) => T): T {
  const gram = tf.matMul(d.x, d.x, false, true) as tf.Tensor2D;
  try {
    return f(gram);
  } finally {
    gram.dispose();
  }
}

/** min ½ Σ_hc ‖β_hc‖² s.t. y_i f(x_i) ≥ 1. */
export function l2MaxMargin(d: GatedData, opts: Partial<SvmOptions> = {}): MaxMarginResult {
  const eta = new Float64Array(units(d)).fill(1);
  const r = withGram(d, (gram) => svm(gatedKernel(d, eta, gram), d.y, opts));
  const beta = betaFromDual(d, r.alpha, eta);
  return { beta, objective: r.primal / r.minMargin ** 2, lowerBound: r.dual, minMargin: r.minMargin, converged: r.converged, separable: r.separable, iterations: r.epochs };
}

export interface GroupNormOptions extends SvmOptions {
  /** Reweighting rounds. */
  maxRounds: number;
  /** Stop when the duality gap (objective − lower bound) is below this fraction of the objective. */
  relTol: number;
}

/** min Σ_h (Σ_c ‖β_hc‖²)^½ s.t. y_i f(x_i) ≥ 1, by alternating a weighted SVM and η_h = ‖β_h‖. */
export function groupNormMaxMargin(d: GatedData, opts: Partial<GroupNormOptions> = {}): MaxMarginResult {
  const H = units(d);
  const maxRounds = opts.maxRounds ?? 200;
  const relTol = opts.relTol ?? 1e-3;
  let eta = new Float64Array(H).fill(1);
  let alpha: Float64Array | undefined;
  let objective = NaN;
  let last: SvmResult | null = null;
  let beta: tf.Tensor3D | null = null;
  let rounds = 0;
  let converged = false;
  let lowerBound = NaN;
  withGram(d, (gram) => {
    for (; rounds < maxRounds; rounds++) {
      const r = svm(gatedKernel(d, eta, gram), d.y, { ...opts, ...(alpha ? { alpha } : {}) });
      last = r;
      if (!r.separable) break;
      alpha = r.alpha;
      beta?.dispose();
      beta = betaFromDual(d, r.alpha, eta);
      const norms = unitNorms(beta);
      // β scaled to margin 1 is feasible: an upper bound. α / max_h ‖u_h‖ (u_h = β_h / η_h) is
      // feasible for the dual max Σα s.t. ‖u_h(α)‖ ≤ 1: a lower bound.
      const obj = norms.reduce((a, b) => a + b, 0) / r.minMargin;
      const maxU = Math.max(...Array.from(norms, (v, h) => v / eta[h]!));
      lowerBound = r.alpha.reduce((a, b) => a + b, 0) / maxU;
      objective = obj;
      eta = Float64Array.from(norms, (v) => Math.max(v, 1e-12));
      if (obj - lowerBound <= relTol * obj) {
        converged = r.converged;
        rounds++;
        break;
      }
    }
  });
  const r = last as SvmResult | null;
  if (!beta) beta = tf.zeros([d.C, d.x.shape[1], H]) as tf.Tensor3D;
  return {
    beta,
    objective,
    lowerBound,
    minMargin: r?.minMargin ?? NaN,
    converged,
    separable: r?.separable ?? false,
    iterations: rounds,
  };
}
