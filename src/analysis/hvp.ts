/**
 * The loss of a model over a fixed set of examples as a function of a chosen
 * subset of its parameters, with gradients and Hessian-vector products.
 *
 * Hessian-vector products are central differences of exact gradients,
 *   H v ≈ (∇L(θ + εv) − ∇L(θ − εv)) / 2ε,
 * with the step chosen per vector so that the perturbation ‖εv‖ is a fixed
 * fraction `relStep` of (1 + ‖θ‖) — large against float32 rounding of θ, small
 * against the scale on which the curvature changes. The gradients are summed in
 * double precision over chunks of the examples. Nested tf.grad is not used: in
 * tfjs 4.22 the second derivative through any op whose gradient reads its saved
 * output (tanh, sigmoid, exp, softmax, logSoftmax, max-pooling) either throws or
 * silently drops terms (docs/architecture.md, "Curvature"). The method is
 * checked against closed-form Hessians in tests/src/hessian.test.ts, and
 * `checkHvp` estimates the error on any model by comparing two step sizes.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { lossFor } from '../losses.js';
import type { Batch, Dataset, Model, Params, Split } from '../types.js';
import { norm, type Vec } from './linalg.js';
import type { SymOperator } from './spectrum.js';

export const DEFAULT_REL_STEP = 1e-3;

/** The examples a Hessian is taken over: the first `points` of `split`, in file order. */
export interface PointSet {
  split: Split;
  points: number;
}

/** Trainable parameter names matching any of the comma-separated globs (`*` matches anything). */
export function selectParams(model: Model, pattern?: string): string[] {
  const names = Object.entries(model.specs)
    .filter(([, s]) => s.trainable !== false)
    .map(([n]) => n);
  if (!pattern) return names;
  const globs = pattern
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean)
    .map((g) => new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
  const chosen = names.filter((n) => globs.some((g) => g.test(n)));
  if (chosen.length === 0) throw new UsageError(`--params ${pattern} matches no trainable parameter; the model has: ${names.join(', ')}`);
  return chosen;
}

export class LossSurface implements SymOperator {
  readonly dim: number;
  readonly names: string[];
  readonly n: number;
  /** Relative step of the finite differences (see the module comment). */
  relStep = DEFAULT_REL_STEP;
  /** Gradient evaluations so far (each over all the examples). */
  gradEvals = 0;
  private readonly sizes: number[];
  private readonly shapes: number[][];
  private readonly theta: Vec;
  private readonly thetaNorm: number;
  private readonly chunks: Batch[];
  private readonly loss;
  private readonly fixed: Params;

  /**
   * @param params the parameters at which to evaluate (not modified; the surface keeps its own copies)
   * @param names the parameters the Hessian is over; the others stay fixed
   */
  constructor(
    readonly model: Model,
    params: Params,
    dataset: Dataset,
    set: PointSet,
    names: string[],
    chunkSize = 1000,
  ) {
    const available = dataset.size(set.split);
    if (!Number.isInteger(set.points) || set.points < 1) throw new UsageError(`--points must be a positive integer (got ${set.points})`);
    if (available === 0) throw new UsageError(`dataset ${dataset.name} has no ${set.split} examples`);
    this.n = Math.min(set.points, available);
    this.names = names;
    this.loss = lossFor(dataset.loss);
    this.shapes = names.map((n) => params[n]!.shape);
    this.sizes = this.shapes.map((s) => s.reduce((a, b) => a * b, 1));
    this.dim = this.sizes.reduce((a, b) => a + b, 0);
    this.theta = new Float64Array(this.dim);
    let o = 0;
    names.forEach((n, i) => {
      this.theta.set(params[n]!.dataSync(), o);
      o += this.sizes[i]!;
    });
    this.thetaNorm = norm(this.theta);
    this.fixed = Object.fromEntries(
      Object.entries(params)
        .filter(([k]) => !names.includes(k))
        .map(([k, t]) => [k, tf.keep(t.clone())]),
    );
    this.chunks = [];
    for (let start = 0; start < this.n; start += chunkSize) {
      const idx = Int32Array.from({ length: Math.min(chunkSize, this.n - start) }, (_, i) => start + i);
      const b = dataset.batch(set.split, idx);
      this.chunks.push({ ...b, x: tf.keep(b.x), y: tf.keep(b.y), ...(b.mask ? { mask: tf.keep(b.mask) } : {}) });
    }
  }

  /** The chosen parameters as one vector (a copy). */
  point(): Vec {
    return Float64Array.from(this.theta);
  }

  /** Splits a flat vector into tensors shaped like the chosen parameters. */
  private tensors(flat: Vec): tf.Tensor[] {
    let o = 0;
    return this.shapes.map((shape, i) => {
      const t = tf.tensor(Float32Array.from(flat.subarray(o, o + this.sizes[i]!)), shape);
      o += this.sizes[i]!;
      return t;
    });
  }

  private paramsWith(ws: tf.Tensor[]): Params {
    const p: Params = { ...this.fixed };
    this.names.forEach((n, i) => (p[n] = ws[i]!));
    return p;
  }

  /** θ + δ (δ may be omitted). */
  private shifted(delta?: Vec): Vec {
    if (!delta) return this.theta;
    const x = new Float64Array(this.dim);
    for (let i = 0; i < this.dim; i++) x[i] = this.theta[i]! + delta[i]!;
    return x;
  }

  /** Mean loss and accuracy over the examples at θ + δ. */
  evaluate(delta?: Vec): { loss: number; accuracy: number } {
    const ws = this.tensors(this.shifted(delta));
    const p = this.paramsWith(ws);
    let lossSum = 0;
    let correct = 0;
    for (const b of this.chunks) {
      const [l, c] = tf.tidy(() => {
        const out = this.model.forward(p, b.x, { training: false }).output;
        return [this.loss.value(out, b), this.loss.correct(out, b)];
      });
      lossSum += l.dataSync()[0]! * b.size;
      correct += c.dataSync()[0]!;
      tf.dispose([l, c]);
    }
    tf.dispose(ws);
    return { loss: lossSum / this.n, accuracy: correct / this.n };
  }

  /** Mean loss and its gradient for the chosen parameters at θ + δ, summed in double precision. */
  lossAndGrad(delta?: Vec): { loss: number; grad: Vec } {
    const ws = this.tensors(this.shifted(delta));
    const grad = new Float64Array(this.dim);
    let lossSum = 0;
    for (const b of this.chunks) {
      const f = (...vars: tf.Tensor[]) => {
        const out = this.model.forward(this.paramsWith(vars), b.x, { training: false }).output;
        return tf.mul(this.loss.value(out, b), b.size / this.n) as tf.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(f)(ws);
      lossSum += value.dataSync()[0]!;
      let o = 0;
      grads.forEach((g, i) => {
        const d = g.dataSync();
        for (let j = 0; j < d.length; j++) grad[o + j]! += d[j]!;
        o += this.sizes[i]!;
      });
      tf.dispose([value, ...grads]);
    }
    tf.dispose(ws);
    this.gradEvals++;
    return { loss: lossSum, grad };
  }

  /** H v by central differences with step ε = relStep·(1 + ‖θ‖)/‖v‖. */
  hvpWithStep(v: Vec, relStep: number): Vec {
    const nv = norm(v);
    if (nv === 0) return new Float64Array(this.dim);
    const eps = (relStep * (1 + this.thetaNorm)) / nv;
    const plus = new Float64Array(this.dim);
    const minus = new Float64Array(this.dim);
    for (let i = 0; i < this.dim; i++) {
      plus[i] = eps * v[i]!;
      minus[i] = -eps * v[i]!;
    }
    const gp = this.lossAndGrad(plus).grad;
    const gm = this.lossAndGrad(minus).grad;
    for (let i = 0; i < this.dim; i++) gp[i] = (gp[i]! - gm[i]!) / (2 * eps);
    return gp;
  }

  apply(v: Vec): Vec {
    return this.hvpWithStep(v, this.relStep);
  }

  /**
   * An error estimate for H v: the relative difference between the products at
   * the working step and at twice it. Central differences err by O(ε²), so the
   * working product's error is about a third of this (rounding aside).
   */
  checkHvp(v: Vec): number {
    const a = this.hvpWithStep(v, this.relStep);
    const b = this.hvpWithStep(v, 2 * this.relStep);
    let d = 0;
    for (let i = 0; i < this.dim; i++) d += (a[i]! - b[i]!) ** 2;
    return Math.sqrt(d) / Math.max(norm(a), 1e-30);
  }

  dispose(): void {
    tf.dispose(Object.values(this.fixed));
    for (const b of this.chunks) tf.dispose([b.x, b.y, ...(b.mask ? [b.mask] : [])]);
  }
}
