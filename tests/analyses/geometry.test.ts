/**
 * Geometry measures against hand derivations: weight distances on small integer
 * matrices, effective ranks of matrices built with a chosen spectrum,
 * participation ratios of data whose covariance is known exactly, and tangent
 * kernels of models where ∂f/∂θ has a closed form (a linear map; the last layer
 * of an MLP) or is computed another way (full-batch gradients).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  effectiveRank,
  hiddenParticipationRatios,
  kernelAlignment,
  participationRatio,
  tangentKernel,
  weightChange,
} from '../../analyses/geometry.js';
import { symEig } from '../../src/linalg.js';
import { Rng } from '../../src/rng.js';
import type { LayerTrace, Model, Params } from '../../src/types.js';
import { createMlp, mlpOptions } from '../../models/mlp.js';
import { optionDefaults } from '../../src/options.js';

/** Runs f and checks that it leaves no tensor behind. */
function noLeak<T>(f: () => T): T {
  const before = tf.memory().numTensors;
  const r = f();
  expect(tf.memory().numTensors).toBe(before);
  return r;
}

/** A random n × n orthogonal matrix: the eigenvectors of a random symmetric matrix. */
function orthogonal(n: number, rng: Rng): number[][] {
  const g = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
  return symEig(g.map((r, i) => r.map((v, j) => v + g[j]![i]!))).vectors;
}

const matmul = (a: number[][], b: number[][]) => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const transpose = (a: number[][]) => a[0]!.map((_, j) => a.map((row) => row[j]!));

/** U diag(s) Vᵀ with U the first s.length columns of a random rows × rows orthogonal matrix and V a random orthogonal one. */
function withSingularValues(rows: number, s: number[], rng: Rng): number[][] {
  const u = orthogonal(rows, rng).map((row) => row.slice(0, s.length));
  const v = orthogonal(s.length, rng);
  return matmul(
    u.map((row) => row.map((x, k) => x * s[k]!)),
    transpose(v),
  );
}

/** exp(−Σ p log p) with p = s / Σs, written out directly. */
function erankByHand(s: number[]): number {
  const total = s.reduce((a, b) => a + b, 0);
  return Math.exp(-s.reduce((h, x) => h + (x / total) * Math.log(x / total), 0));
}

/** PR = (Σλ)² / Σλ² from the eigenvalues of the sample covariance, all in double precision. */
function prByHand(x: number[][]): number {
  const n = x.length;
  const mean = x[0]!.map((_, j) => x.reduce((s, r) => s + r[j]!, 0) / n);
  const xc = x.map((r) => r.map((v, j) => v - mean[j]!));
  const cov = matmul(transpose(xc), xc).map((r) => r.map((v) => v / (n - 1)));
  const l = symEig(cov).values;
  return l.reduce((a, b) => a + b, 0) ** 2 / l.reduce((a, b) => a + b * b, 0);
}

const randomMatrix = (rows: number, cols: number, rng: Rng) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));

describe('weightChange', () => {
  it('gives the Frobenius distance and its ratio to the initial norm', () => {
    const init: Params = { a: tf.zeros([1, 2]), b: tf.tensor([[3, 0], [0, 4]]) };
    const final: Params = { a: tf.tensor([[3, 4]]), b: tf.tensor([[3, 1], [2, 4]]) };
    const r = noLeak(() => weightChange(init, final, ['a', 'b']));
    expect(Object.keys(r)).toEqual(['a', 'b']);
    expect(r['a']!.distance).toBeCloseTo(5, 6);
    expect(r['a']!.relative).toBeNaN();
    // ‖[[0,1],[2,0]]‖ = √5, ‖[[3,0],[0,4]]‖ = 5
    expect(r['b']!.distance).toBeCloseTo(Math.sqrt(5), 6);
    expect(r['b']!.relative).toBeCloseTo(Math.sqrt(5) / 5, 6);
    expect(() => weightChange(init, final, ['c'])).toThrow(/no parameter c/);
    tf.dispose([...Object.values(init), ...Object.values(final)]);
  });
});

describe('effectiveRank', () => {
  it('is n for the n × n identity and 0 for a zero matrix', () => {
    const eye = tf.eye(5);
    const zero = tf.zeros([4, 3]);
    expect(noLeak(() => effectiveRank(eye))).toBeCloseTo(5, 6);
    expect(noLeak(() => effectiveRank(zero))).toBe(0);
    tf.dispose([eye, zero]);
  });

  it('is 1 for a rank-one outer product, tall or wide', () => {
    // Small integers keep the float32 Gram exact, so the zero singular values
    // come out as zeros (a float outer product reads slightly above 1: see effectiveRank).
    const u = [1, -2, 3, 0, 2, -1, 4, 1, -3];
    const v = [2, -1, 3, 1];
    const m = tf.tensor2d(u.map((a) => v.map((b) => a * b)));
    const mt = tf.transpose(m);
    expect(noLeak(() => effectiveRank(m))).toBeCloseTo(1, 6);
    expect(noLeak(() => effectiveRank(mt))).toBeCloseTo(1, 6);
    // and 2 for u vᵀ + c·u2 v2ᵀ with u2 ⟂ u, v2 ⟂ v: singular values ‖u‖‖v‖ = √(45·15)
    // and c‖u2‖‖v2‖ = c√(6·5), equal for c = √(45·15/30)
    const u2 = [2, 1, 0, 1, 0, 0, 0, 0, 0];
    const v2 = [1, 2, 0, 0];
    const c = Math.sqrt((45 * 15) / 30);
    const two = tf.tensor2d(u.map((a, i) => v.map((b, j) => a * b + c * u2[i]! * v2[j]!)));
    expect(noLeak(() => effectiveRank(two))).toBeCloseTo(2, 4);
    tf.dispose([m, mt, two]);
  });

  it('is exp(H(s/Σs)) for a matrix U diag(s) Vᵀ, in both orientations', () => {
    const s = [4, 2, 1, 0.25];
    // p = [16, 8, 4, 1]/29: well away from both 1 and 4
    const expected = erankByHand(s);
    expect(expected).toBeGreaterThan(2.2);
    expect(expected).toBeLessThan(3);
    const m = withSingularValues(7, s, new Rng('erank-spectrum'));
    const tall = tf.tensor2d(m);
    const wide = tf.tensor2d(transpose(m));
    expect(noLeak(() => effectiveRank(tall))).toBeCloseTo(expected, 4);
    expect(noLeak(() => effectiveRank(wide))).toBeCloseTo(expected, 4);
    tf.dispose([tall, wide]);
  });

  it('agrees between the tall and the wide form of a random matrix', () => {
    const m = tf.tensor2d(randomMatrix(9, 5, new Rng('erank-random')));
    const mt = tf.transpose(m);
    const a = effectiveRank(m);
    expect(a).toBeGreaterThan(3);
    expect(a).toBeLessThan(5);
    expect(effectiveRank(mt)).toBeCloseTo(a, 4);
    tf.dispose([m, mt]);
  });

  it('reads a conv weight [kh, kw, in, out] as the matrix [kh·kw·in, out]', () => {
    const s = [3, 1, 0.5, 0.1];
    const m = withSingularValues(12, s, new Rng('erank-conv'));
    const conv = tf.tensor4d(m.flat(), [2, 2, 3, 4]);
    const flat = tf.tensor2d(m);
    const r = noLeak(() => effectiveRank(conv));
    expect(r).toBeCloseTo(erankByHand(s), 4);
    expect(r).toBeCloseTo(effectiveRank(flat), 5);
    // a different grouping of the same numbers (e.g. [kh·kw, in·out]) would not give this
    const other = tf.tensor2d(m.flat(), [4, 12]);
    expect(Math.abs(effectiveRank(other) - r)).toBeGreaterThan(0.05);
    tf.dispose([conv, flat, other]);
  });
});

describe('participationRatio', () => {
  it('is k for activity spread evenly over k directions', () => {
    // rows ±e1, ±e2, ±e3 in 5 dims: mean 0, C = diag(2, 2, 2, 0, 0)/5
    const rows: number[][] = [];
    for (let k = 0; k < 3; k++) for (const sign of [1, -1]) rows.push([0, 1, 2, 3, 4].map((j) => (j === k ? sign : 0)));
    const x = tf.tensor2d(rows);
    expect(noLeak(() => participationRatio(x))).toBeCloseTo(3, 5);
    x.dispose();
  });

  it('is (Σλ)²/Σλ² for a rotated, offset anisotropic cloud', () => {
    // ±1·e1, ±2·e2, ±3·e3: covariance eigenvalues ∝ 1, 4, 9, so PR = 14²/(1 + 16 + 81) = 2.
    const rng = new Rng('pr-aniso');
    const q = orthogonal(3, rng);
    const offset = [1, -2, 0.5];
    const rows: number[][] = [];
    for (let k = 0; k < 3; k++) {
      for (const sign of [1, -1]) {
        const e = [0, 1, 2].map((j) => (j === k ? sign * (k + 1) : 0));
        rows.push(q.map((qr, j) => qr.reduce((s, v, i) => s + v * e[i]!, 0) + offset[j]!));
      }
    }
    const x = tf.tensor2d(rows);
    expect(noLeak(() => participationRatio(x))).toBeCloseTo(2, 4);
    x.dispose();
  });

  it('gives the same value from the D × D and the N × N Gram', () => {
    const data = randomMatrix(8, 5, new Rng('pr-branches'));
    const expected = prByHand(data);
    const narrow = tf.tensor2d(data); // D = 5 < N = 8
    const padded = tf.tensor2d(data.map((r) => [...r, ...new Array<number>(15).fill(0)])); // D = 20 > N = 8
    const a = noLeak(() => participationRatio(narrow));
    const b = noLeak(() => participationRatio(padded));
    expect(a).toBeCloseTo(expected, 4);
    expect(b).toBeCloseTo(expected, 4);
    tf.dispose([narrow, padded]);
  });

  it('flattens per-example shapes, gives 0 for constant activity and needs two examples', () => {
    const data = randomMatrix(6, 12, new Rng('pr-shape'));
    const x = tf.tensor3d(data.flat(), [6, 3, 4]);
    expect(noLeak(() => participationRatio(x))).toBeCloseTo(prByHand(data), 4);
    const constant = tf.zeros([4, 3]);
    expect(participationRatio(constant)).toBe(0);
    const one = tf.ones([1, 3]);
    expect(() => participationRatio(one)).toThrow(/at least 2 examples/);
    tf.dispose([x, constant, one]);
  });
});

describe('hiddenParticipationRatios', () => {
  it("measures every hidden layer's post-activation of an MLP, not its output", () => {
    const m = createMlp({ ...optionDefaults(mlpOptions), hidden: [5, 4], activation: 'tanh', init: 'torch', initScale: 1 }, { inputShape: [3], outputSize: 2 });
    const p = m.init(new Rng('hpr-mlp'));
    const xs = randomMatrix(10, 3, new Rng('hpr-x'));
    const x = tf.tensor2d(xs);
    const r = noLeak(() => hiddenParticipationRatios(m, p, x));
    expect(Object.keys(r)).toEqual(['l0', 'l1']);
    // the hidden activity by hand: h_l = tanh(h_{l−1} W_l + b_l)
    const layer = (h: number[][], l: number) => {
      const w = p[`l${l}/W`]!.arraySync() as number[][];
      const b = p[`l${l}/b`]!.arraySync() as number[];
      return matmul(h, w).map((row) => row.map((v, j) => Math.tanh(v + b[j]!)));
    };
    const h0 = layer(xs, 0);
    const h1 = layer(h0, 1);
    expect(r['l0']).toBeCloseTo(prByHand(h0), 3);
    expect(r['l1']).toBeCloseTo(prByHand(h1), 3);
    tf.dispose([...Object.values(p), x]);
  });

  it('takes every trace entry but the last when the model declares no layers', () => {
    const model: Model = {
      name: 'two-step',
      specs: {},
      init: () => ({}),
      forward(_params, x) {
        const a = tf.square(x);
        const b = tf.mul(x, tf.scalar(2));
        const trace: LayerTrace[] = [
          { name: 'sq', input: x, pre: a, post: a },
          { name: 'dbl', input: x, pre: b, post: b },
          { name: 'out', input: x, pre: b, post: b },
        ];
        return { output: b, trace };
      },
    };
    const xs = randomMatrix(7, 3, new Rng('hpr-nolayers'));
    const x = tf.tensor2d(xs);
    const r = noLeak(() => hiddenParticipationRatios(model, {}, x));
    expect(Object.keys(r)).toEqual(['sq', 'dbl']);
    expect(r['sq']).toBeCloseTo(prByHand(xs.map((row) => row.map((v) => v * v))), 4);
    expect(r['dbl']).toBeCloseTo(prByHand(xs), 4);
    x.dispose();
  });
});

describe('tangentKernel', () => {
  it('is C·⟨x_i, x_j⟩ for a linear model f(x) = x W', () => {
    const d = 3;
    const c = 4;
    const rng = new Rng('ntk-linear');
    const model: Model = {
      name: 'linear',
      specs: { W: { shape: [d, c], role: 'weight' } },
      init: () => ({ W: tf.tensor2d(randomMatrix(d, c, rng)) }),
      forward: (params, x) => ({ output: tf.matMul(x, params['W']!), trace: [] }),
    };
    const p = model.init(rng);
    const xs = randomMatrix(5, d, rng);
    const x = tf.tensor2d(xs);
    const k = noLeak(() => tangentKernel(model, p, x, ['W']));
    expect(k.length).toBe(5);
    k.forEach((row, i) =>
      row.forEach((v, j) => {
        const expected = c * xs[i]!.reduce((s, a, t) => s + a * xs[j]![t]!, 0);
        expect(v).toBeCloseTo(expected, 4);
      }),
    );
    tf.dispose([...Object.values(p), x]);
  });

  const mlp = () => {
    const m = createMlp({ ...optionDefaults(mlpOptions), hidden: [5], activation: 'tanh', init: 'torch', initScale: 1 }, { inputShape: [4], outputSize: 3 });
    const p = m.init(new Rng('x'));
    p['l0/b'] = tf.tensor1d([0.1, -0.2, 0.3, 0, 0.05]); // the zero init would hide bias mistakes
    const xs = randomMatrix(6, 4, new Rng('ntk-mlp-x'));
    return { m, p, xs, x: tf.tensor2d(xs) };
  };

  it('on an MLP is symmetric PSD with the per-example Jacobian norms on its diagonal', () => {
    const { m, p, xs, x } = mlp();
    const names = Object.keys(m.specs);
    const k = noLeak(() => tangentKernel(m, p, x, names));
    k.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(k[j]![i]!, 5)));
    const { values } = symEig(k);
    expect(values[0]!).toBeGreaterThan(0);
    for (const l of values) expect(l).toBeGreaterThanOrEqual(-1e-6 * values[0]!);

    // Another way: gradients of output[i, c] from one forward pass over the whole batch.
    const classes = 3;
    const rows = tf.tidy(() =>
      Array.from({ length: xs.length }, (_, i) =>
        Array.from({ length: classes }, (_, c) => {
          const f = (...ws: tf.Tensor[]) => {
            const q: Params = { ...p };
            names.forEach((n, t) => (q[n] = ws[t]!));
            return m.forward(q, x).output.slice([i, c], [1, 1]).sum() as tf.Scalar;
          };
          return tf.grads(f)(names.map((n) => p[n]!)).flatMap((g) => Array.from(g.dataSync()));
        }),
      ),
    );
    const dotv = (a: number[], b: number[]) => a.reduce((s, v, t) => s + v * b[t]!, 0);
    for (let i = 0; i < xs.length; i++) {
      const diag = rows[i]!.reduce((s, g) => s + dotv(g, g), 0);
      expect(k[i]![i]! / diag).toBeCloseTo(1, 5);
      for (let j = 0; j < xs.length; j++) {
        const off = rows[i]!.reduce((s, g, c) => s + dotv(g, rows[j]![c]!), 0);
        expect(k[i]![j]!).toBeCloseTo(off, 4);
      }
    }
    tf.dispose([...Object.values(p), x]);
  });

  it('over the last layer alone is C·⟨h_i, h_j⟩ (weights) and C (bias)', () => {
    // f_c = Σ_k h_k W1[k, c] + b1[c]: ∂f_c/∂W1[k, c'] = h_k δ_cc', ∂f_c/∂b1[c'] = δ_cc'
    const { m, p, xs, x } = mlp();
    const w0 = p['l0/W']!.arraySync() as number[][];
    const b0 = p['l0/b']!.arraySync() as number[];
    const h = matmul(xs, w0).map((row) => row.map((v, j) => Math.tanh(v + b0[j]!)));
    const kw = noLeak(() => tangentKernel(m, p, x, ['l1/W']));
    const kb = noLeak(() => tangentKernel(m, p, x, ['l1/b']));
    const kwb = tangentKernel(m, p, x, ['l1/W', 'l1/b']);
    h.forEach((hi, i) =>
      h.forEach((hj, j) => {
        const expected = 3 * hi.reduce((s, v, t) => s + v * hj[t]!, 0);
        expect(kw[i]![j]!).toBeCloseTo(expected, 4);
        expect(kb[i]![j]!).toBeCloseTo(3, 5);
        expect(kwb[i]![j]!).toBeCloseTo(expected + 3, 4);
      }),
    );
    tf.dispose([...Object.values(p), x]);
  });
});

describe('kernelAlignment', () => {
  it('is 1 for proportional kernels, below 1 otherwise, and ⟨A,B⟩/(‖A‖‖B‖) by hand', () => {
    const k = [
      [2, 1, 0],
      [1, 3, 1],
      [0, 1, 4],
    ];
    expect(kernelAlignment(k, k.map((r) => r.map((v) => 3 * v)))).toBeCloseTo(1, 12);
    const eye = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
    // ⟨K, I⟩ = 9, ‖K‖² = 4 + 9 + 16 + 4·1 = 33, ‖I‖² = 3
    expect(kernelAlignment(k, eye)).toBeCloseTo(9 / Math.sqrt(33 * 3), 12);
    expect(kernelAlignment(k, eye)).toBeLessThan(1);
    // ⟨A, B⟩ = 2 + 3 = 5, ‖A‖² = 30, ‖B‖² = 2
    expect(
      kernelAlignment(
        [
          [1, 2],
          [3, 4],
        ],
        [
          [0, 1],
          [1, 0],
        ],
      ),
    ).toBeCloseTo(5 / Math.sqrt(60), 12);
  });
});
