/**
 * Rich/lazy measures against hand derivations: the representation alignment and
 * sign similarity of given activities, the recurrent output gradients of a
 * linear two-step network written out (∂z₂/∂J = r₁ ⊗ W_out), and the same
 * gradients against one autodiff pass per output through the model's ordinary
 * forward pass (a sparse E/I network, so the mask is included).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { recurrentOutputGradients, recurrentTangentKernel, representationAlignment, richLazy, scoredSteps, signSimilarity } from '../../analyses/rich-lazy.js';
import { createRnn, rnnOptions, type RnnOptions } from '../../models/rnn.js';
import { optionDefaults, resolveOptions } from '../../src/options.js';
import { tasks } from '../../src/registries.js';
import { Rng } from '../../src/rng.js';
import type { Batch } from '../../src/types.js';

const rnnOf = (o: Partial<RnnOptions>, inputShape: [number, number], outputSize: number, dtMs: number) =>
  createRnn({ ...optionDefaults(rnnOptions), ...o }, { inputShape, outputSize, dtMs });

describe('rich-lazy measures', () => {
  it('representation alignment of K = HHᵀ: H₀ = I, H_T = [[1, 1], [0, 1]] gives 3/√14', () => {
    // K₀ = I, K_T = [[2, 1], [1, 1]]: ⟨K₀, K_T⟩ = 3, ‖K₀‖ = √2, ‖K_T‖ = √7.
    expect(representationAlignment([[1, 0], [0, 1]], [[1, 1], [0, 1]])).toBeCloseTo(3 / Math.sqrt(14), 12);
    expect(representationAlignment([[1, 2], [3, 4]], [[2, 4], [6, 8]])).toBeCloseTo(1, 12);
  });

  it('sign similarity counts equal signs, zero its own sign', () => {
    expect(signSimilarity([0, 1, 2, 0, -1], [0, 3, 0, 1, -2])).toBeCloseTo(3 / 5, 12);
    expect(() => signSimilarity([1], [1, 2])).toThrow(/equally long/);
  });

  it('scored steps are those with a loss mask, all steps without one', () => {
    const x = tf.zeros([2, 4, 1]);
    const mask = tf.tensor3d([[[0], [0], [1], [1]], [[0], [1], [0], [0]]]);
    const batch: Batch = { x, y: tf.zeros([2, 4, 1]), mask, size: 2 };
    expect(scoredSteps(batch)).toEqual([[2, 3], [1]]);
    expect(scoredSteps({ ...batch, mask: undefined } as Batch)).toEqual([[0, 1, 2, 3], [0, 1, 2, 3]]);
    tf.dispose([x, batch.y, mask]);
  });

  it('∂z_t/∂J of a linear network with α = 1: zero at step 1, r₁ ⊗ W_out at step 2', () => {
    // x₁ = u₁W_in, z₁ = x₁W_out (no J yet); x₂ = x₁J + u₂W_in, z₂ = x₂W_out: ∂z₂,c/∂J[j, i] = x₁[j] W_out[i, c].
    const m = rnnOf({ units: 3, tau: 10, activation: 'linear' }, [2, 2], 2, 10);
    const p = m.init(new Rng('rich-lazy-linear'));
    const u = tf.tensor3d([[[1, -1], [0.5, 2]]]);
    const g = recurrentOutputGradients(m, p, u);
    expect(g.shape).toEqual([4, 9]);
    const rows = g.arraySync();
    const win = p['rnn/Win']!.arraySync() as number[][];
    const wout = p['rnn/Wout']!.arraySync() as number[][];
    const x1 = [0, 1, 2].map((i) => 1 * win[0]![i]! - 1 * win[1]![i]!);
    for (const q of [0, 1]) for (const v of rows[q]!) expect(v).toBe(0);
    for (const c of [0, 1]) {
      for (let j = 0; j < 3; j++) for (let i = 0; i < 3; i++) expect(rows[2 + c]![j * 3 + i]).toBeCloseTo(x1[j]! * wout[i]![c]!, 5);
    }
    tf.dispose([g, u, ...Object.values(p)]);
  });

  it('equals one autodiff pass per output through the forward pass, mask included (sparse E/I ReLU network)', () => {
    const m = rnnOf({ units: 6, tau: 20, activation: 'relu', sparsity: 0.6, dale: 0.5, gain: 1.5 }, [4, 2], 2, 10);
    const p = m.init(new Rng('rich-lazy-autodiff'));
    const u = tf.tensor3d([[[1, 0.2], [-0.3, 0.8], [0.5, -1], [0.1, 0.4]]]);
    const g = recurrentOutputGradients(m, p, u).arraySync();
    let q = 0;
    for (let t = 0; t < 4; t++) {
      for (let c = 0; c < 2; c++, q++) {
        const direct = tf.tidy(() => tf.grad((J: tf.Tensor) => m.forward({ ...p, 'rnn/J': J }, u).output.slice([0, t, c], [1, 1, 1]).sum() as tf.Scalar)(p['rnn/J']!).dataSync());
        direct.forEach((v, k) => expect(g[q]![k]).toBeCloseTo(v, 5));
      }
    }
    const mask = p['rnn/mask']!.dataSync();
    g.forEach((row) => row.forEach((v, k) => mask[k] === 0 && expect(v).toBe(0)));
    // In chunks of 3 outputs per backward pass (3 + 3 + 2), the same rows.
    const chunked = recurrentOutputGradients(m, p, u, undefined, 3).arraySync();
    chunked.forEach((row, i) => row.forEach((v, k) => expect(v).toBeCloseTo(g[i]![k]!, 6)));
    // Chosen outputs only, in the order asked.
    const chosen = recurrentOutputGradients(m, p, u, [5, 2, 7], 2).arraySync();
    [5, 2, 7].forEach((q, i) => chosen[i]!.forEach((v, k) => expect(v).toBeCloseTo(g[q]![k]!, 6)));
    // The kernel over two trials is GGᵀ of the stacked rows.
    const two = tf.concat([u, tf.reverse(u, 1)]);
    const k = recurrentTangentKernel(m, p, two);
    const rows = [...g, ...recurrentOutputGradients(m, p, two.slice([1], [1])).arraySync()];
    expect(k).toHaveLength(16);
    for (const [a, b] of [[0, 0], [3, 12], [15, 9]] as const) expect(k[a]![b]).toBeCloseTo(rows[a]!.reduce((s, v, i) => s + v * rows[b]![i]!, 0), 4);
    tf.dispose([u, two, ...Object.values(p)]);
  });

  it('a network compared with itself: no change, alignments 1, same signs; no tensor leak', async () => {
    const e = tasks.get('perceptual-decision');
    const dataset = await e.load(resolveOptions('task', e.options ?? [], { trials: 8, testTrials: 6, dt: 100, stimulusMs: 300, decisionMs: 200 }));
    const m = rnnOf({ units: 8, tau: 100, activation: 'relu' }, dataset.inputShape as [number, number], dataset.outputSize, 100);
    const p = m.init(new Rng('rich-lazy-self'));
    const before = tf.memory().numTensors;
    const r = richLazy(m, p, p, dataset, 'test', 5, 2);
    expect(tf.memory().numTensors).toBe(before);
    expect(r).toMatchObject({ probeTrials: 5, kernelTrials: 2, weightChange: 0, signSimilarity: 1 });
    expect(r.kernelOutputs).toBe(2 * 6);
    expect(r.representationAlignment).toBeCloseTo(1, 6);
    expect(r.kernelAlignment).toBeCloseTo(1, 6);
    // Over the scored steps only: the 2 decision steps of each trial (steps 4 and 5 at dt 100 ms).
    const scored = richLazy(m, p, p, dataset, 'test', 5, 2, 'scored');
    expect(scored.kernelOutputs).toBe(2 * 2);
    expect(scored.kernelAlignment).toBeCloseTo(1, 6);
    // A different network moves every measure.
    const q = m.init(new Rng('rich-lazy-other'));
    const other = richLazy(m, p, q, dataset, 'test', 5, 2);
    expect(other.weightChange).toBeGreaterThan(0);
    expect(other.kernelAlignment).toBeLessThan(0.999);
    // A kernel over chosen outputs is the all-steps kernel restricted to them (steps 4, 5 of 6: the scored ones, one output each).
    const x = dataset.batch('test', Int32Array.from([0, 1])).x;
    const full = recurrentTangentKernel(m, q, x);
    const part = recurrentTangentKernel(m, q, x, [[4, 5], [4, 5]]);
    const keep = [4, 5, 10, 11];
    keep.forEach((a, i) => keep.forEach((b, j) => expect(part[i]![j]).toBeCloseTo(full[a]![b]!, 5)));
    x.dispose();
    tf.dispose([...Object.values(p), ...Object.values(q)]);
  });
});
