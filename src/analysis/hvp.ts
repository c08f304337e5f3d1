/**
 * The loss of a model over a fixed set of examples as a function of a chosen
 * subset of its parameters, with gradients and Hessian-vector products.
 *
 * Two ways to get H v:
 * - `exact` (default): reverse-over-reverse autodiff, H v = ∇⟨∇L, v⟩, with the
 *   gradients of src/analysis/second-order.ts that make tfjs's second
 *   derivatives right. Exact up to float32 rounding; for ReLU networks it is the
 *   Hessian almost everywhere (ReLU'' = 0), the quantity PyHessian computes.
 * - `fd`: central differences of exact gradients,
 *   H v ≈ (∇L(θ + εv) − ∇L(θ − εv)) / 2ε, with ‖εv‖ = relStep·(1 + ‖θ‖).
 *   Needs nothing but first derivatives, so it works for any op; but for a
 *   network with kinks (ReLU, max-pooling) the perturbation moves units across
 *   their kinks and the estimate does not converge to the almost-everywhere
 *   Hessian (docs/architecture.md, "Curvature"). Use it for smooth networks.
 *
 * Gradients and products are summed over chunks of the examples in double
 * precision. Both methods are checked against closed-form Hessians in
 * tests/src/hessian.test.ts; `checkHvp` runs a self-check on any model.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { lossFor } from '../losses.js';
import { trainableNames } from '../params.js';
import type { Batch, Dataset, Model, Params, Split } from '../types.js';
import { norm, type Vec } from '../linalg.js';
import { softmaxCrossEntropy2, withSecondOrderGradients } from './second-order.js';
import type { SymOperator } from './spectrum.js';

export const DEFAULT_REL_STEP = 1e-3;

export type HvpMethod = 'exact' | 'fd';

/** The examples a Hessian is taken over: the first `points` of `split`, in file order. */
export interface PointSet {
  split: Split;
  points: number;
}

/** Trainable parameter names matching any of the comma-separated globs (`*` matches anything). */
export function selectParams(model: Model, pattern?: string, flag = '--params'): string[] {
  const names = trainableNames(model.specs);
  if (!pattern) return names;
  const globs = pattern
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean)
    .map((g) => new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
  const chosen = names.filter((n) => globs.some((g) => g.test(n)));
  if (chosen.length === 0) throw new UsageError(`${flag} ${pattern} matches no trainable parameter; the model has: ${names.join(', ')}`);
  return chosen;
}

export class LossSurface implements SymOperator {
  readonly dim: number;
  readonly names: string[];
  readonly n: number;
  /** How products are computed (see the module comment). */
  method: HvpMethod = 'exact';
  /** Relative step of the finite differences. */
  relStep = DEFAULT_REL_STEP;
  /** Gradient evaluations so far (each over all the examples). */
  gradEvals = 0;
  /** Hessian-vector products so far (calls of `apply`). */
  hvps = 0;
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

  /** H v by reverse-over-reverse autodiff with second-order-safe gradients. */
  hvpExact(v: Vec): Vec {
    const out = new Float64Array(this.dim);
    const ws = this.tensors(this.theta);
    const vs = this.tensors(v);
    const lossOf = this.loss.kind === 'softmax-ce' ? softmaxCrossEntropy2 : (o: tf.Tensor, b: Batch) => this.loss.value(o, b);
    withSecondOrderGradients(() => {
      for (const b of this.chunks) {
        const gv = (...vars: tf.Tensor[]) => {
          const inner = (...p: tf.Tensor[]) => tf.mul(lossOf(this.model.forward(this.paramsWith(p), b.x, { training: false }).output, b), b.size / this.n) as tf.Scalar;
          const g = tf.grads(inner)(vars);
          return tf.addN(g.map((gi, i) => tf.sum(tf.mul(gi, vs[i]!)))) as tf.Scalar;
        };
        const hv = tf.grads(gv)(ws);
        let o = 0;
        hv.forEach((h, i) => {
          const d = h.dataSync();
          for (let j = 0; j < d.length; j++) out[o + j]! += d[j]!;
          o += this.sizes[i]!;
        });
        tf.dispose(hv);
      }
    });
    tf.dispose([...ws, ...vs]);
    return out;
  }

  apply(v: Vec): Vec {
    this.hvps++;
    return this.method === 'exact' ? this.hvpExact(v) : this.hvpWithStep(v, this.relStep);
  }

  /**
   * A self-check of the products. `exact`: the symmetry error
   * |wᵀ(H v) − vᵀ(H w)| / |wᵀ(H v)| for v and a second vector w (zero up to
   * rounding for a correct Hessian-vector product). `fd`: the relative change of
   * H v between the working step and twice it (large where the differences
   * cross kinks).
   */
  checkHvp(v: Vec, w?: Vec): number {
    if (this.method === 'exact') {
      const other = w ?? Float64Array.from(v, (x, i) => x * Math.cos(i));
      const hv = this.apply(v);
      const hw = this.apply(other);
      let a = 0;
      let b = 0;
      for (let i = 0; i < this.dim; i++) {
        a += other[i]! * hv[i]!;
        b += v[i]! * hw[i]!;
      }
      return Math.abs(a - b) / Math.max(Math.abs(a), 1e-30);
    }
    const a = this.hvpWithStep(v, this.relStep);
    const b = this.hvpWithStep(v, 2 * this.relStep);
    let d = 0;
    for (let i = 0; i < this.dim; i++) d += (a[i]! - b[i]!) ** 2;
    return Math.sqrt(d) / Math.max(norm(a), 1e-30);
  }

  /** ‖H v (exact) − H v (finite differences at `relStep`)‖ / ‖H v (exact)‖. */
  compareWithFd(v: Vec, relStep = this.relStep): number {
    const a = this.hvpExact(v);
    const b = this.hvpWithStep(v, relStep);
    let d = 0;
    for (let i = 0; i < this.dim; i++) d += (a[i]! - b[i]!) ** 2;
    return Math.sqrt(d) / Math.max(norm(a), 1e-30);
  }

  dispose(): void {
    tf.dispose(Object.values(this.fixed));
    for (const b of this.chunks) tf.dispose([b.x, b.y, ...(b.mask ? [b.mask] : [])]);
  }
}
