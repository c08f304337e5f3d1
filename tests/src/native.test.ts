/**
 * The native kernels (native/): the addon's GEMM against a double-precision
 * product written out here, its argument checks, and the switch that turns it
 * off. The kernel table (kernels.test.ts) checks the products it computes
 * through tfjs against the CPU backend, with or without the addon.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { hasFusedAdam } from '../../src/kernels/adam.js';
import { Adam } from '../../src/optim.js';
import { nativeKernels, nativeStatus } from '../../src/native-kernels.js';
import { runCli } from '../helpers.js';

const native = nativeKernels();
const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

/** A heap holding A, B and C at 8-byte-aligned offsets (the wasm allocator's guarantee), as the backend lays them out. */
function heapFor(M: number, N: number, K: number, batch: number, sharedB: boolean) {
  const [na, nb, nc] = [batch * M * K, (sharedB ? 1 : batch) * K * N, batch * M * N];
  const offA = 8;
  const offB = offA + 4 * na + 8;
  const offC = offB + 4 * nb + 8;
  const heap = new ArrayBuffer(offC + 4 * nc + 64);
  const f = new Float32Array(heap);
  for (let i = 0; i < na; i++) f[offA / 4 + i] = Math.sin(0.17 * i);
  for (let i = 0; i < nb; i++) f[offB / 4 + i] = Math.cos(0.05 * i);
  f.fill(NaN, offC / 4, offC / 4 + nc);
  return { heap, f, offA, offB, offC };
}

describe.runIf(native)('native GEMM', () => {
  it.each([
    [1, 1, 1, 1, false, false, false],
    [37, 45, 300, 1, false, false, false],
    [129, 33, 257, 2, true, false, false],
    [8, 2049, 19, 1, false, true, false],
    [20, 70, 40, 3, true, true, true],
  ])('M %i, N %i, K %i, batch %i, transA %s, transB %s, B shared %s: equals the product in double precision', (M, N, K, batch, ta, tb, shared) => {
    const { heap, f, offA, offB, offC } = heapFor(M, N, K, batch, shared);
    native!.gemm(heap, offA, offB, offC, batch, M, N, K, ta, tb, M * K, shared ? 0 : K * N);
    let worst = 0;
    for (let n = 0; n < batch; n++) {
      const A = (i: number, k: number) => f[offA / 4 + n * M * K + (ta ? k * M + i : i * K + k)]!;
      const B = (k: number, j: number) => f[offB / 4 + (shared ? 0 : n * K * N) + (tb ? j * K + k : k * N + j)]!;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let sum = 0;
          for (let k = 0; k < K; k++) sum += A(i, k) * B(k, j);
          worst = Math.max(worst, Math.abs(f[offC / 4 + n * M * N + i * N + j]! - sum) / Math.max(1, Math.abs(sum)));
        }
      }
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('fills C with zeros when K = 0, and gives the same bits on every call', () => {
    const { heap, f, offA, offB, offC } = heapFor(4, 5, 0, 1, false);
    native!.gemm(heap, offA, offB, offC, 1, 4, 5, 0, false, false, 0, 0);
    expect(Array.from(f.subarray(offC / 4, offC / 4 + 20))).toEqual(new Array(20).fill(0));
    const runs = [0, 1].map(() => {
      const h = heapFor(50, 40, 600, 1, false);
      native!.gemm(h.heap, h.offA, h.offB, h.offC, 1, 50, 40, 600, false, true, 0, 0);
      return Array.from(h.f.subarray(h.offC / 4, h.offC / 4 + 2000));
    });
    expect(runs[0]).toEqual(runs[1]);
  });

  it('refuses calls that would reach outside the heap, overlap, or use a detached heap', () => {
    const { heap, offA, offB, offC } = heapFor(4, 4, 4, 1, false);
    expect(() => native!.gemm(heap, offA, offB, heap.byteLength - 8, 1, 4, 4, 4, false, false, 0, 0)).toThrow(/outside the heap/);
    expect(() => native!.gemm(heap, offA, offB, offA, 1, 4, 4, 4, false, false, 0, 0)).toThrow(/overlaps an input/);
    expect(() => native!.gemm(heap, offA + 2, offB, offC, 1, 4, 4, 4, false, false, 0, 0)).toThrow(/multiples of 4/);
    expect(() => native!.gemm(heap, -4, offB, offC, 1, 4, 4, 4, false, false, 0, 0)).toThrow(/nonnegative integer/);
    const moved = structuredClone(heap, { transfer: [heap] });
    expect(moved.byteLength).toBeGreaterThan(0);
    expect(() => native!.gemm(heap, offA, offB, offC, 1, 4, 4, 4, false, false, 0, 0)).toThrow(/detached/);
  });
});

describe.runIf(native)('native convolutions', () => {
  // x [2, 6, 6, 3] → y [2, 6, 6, 4] under a 3×3 filter, 'same' padding; laid out x, filter, y on one heap.
  const geometry = [2, 6, 6, 3, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1] as const;
  const [nx, nf, ny] = [2 * 6 * 6 * 3, 3 * 3 * 3 * 4, 2 * 6 * 6 * 4];
  const layout = () => {
    const offX = 8;
    const offF = offX + 4 * nx;
    const offY = offF + 4 * nf;
    const heap = new ArrayBuffer(offY + 4 * ny + 8);
    const f = new Float32Array(heap);
    for (let i = 0; i < nx + nf; i++) f[offX / 4 + i] = Math.sin(0.3 * i);
    return { heap, f, offX, offF, offY };
  };

  it('gives the same bits on every call, and each output gradient of max pooling reaches one input', () => {
    const runs = [0, 1].map(() => {
      const { heap, f, offX, offF, offY } = layout();
      native!.conv2d(heap, offX, offF, offY, ...geometry);
      // The filter gradient of Σ y² (dy = 2y), into the filter's slot.
      for (let i = 0; i < ny; i++) f[offY / 4 + i]! *= 2;
      native!.conv2dBackpropFilter(heap, offX, offY, offF, ...geometry);
      return Array.from(f.subarray(offF / 4, offF / 4 + nf));
    });
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]!.every(Number.isFinite)).toBe(true);
    // 2×2 windows, stride 2, over x [2, 6, 6, 3]; dy = 1 (in the filter's slot): each window's gradient lands on one input.
    const { heap, f, offX, offF, offY } = layout();
    f.fill(1, offF / 4, offF / 4 + 2 * 3 * 3 * 3);
    native!.maxPoolGrad(heap, offX, offF, offY, 2, 6, 6, 3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 0, 0);
    const dx = f.subarray(offY / 4, offY / 4 + nx);
    expect(dx.reduce((a, b) => a + b, 0)).toBe(2 * 3 * 3 * 3);
    expect(dx.every((v) => v === 0 || v === 1)).toBe(true);
  });

  it('refuses operands outside the heap, an output over an input, and a zero stride', () => {
    const { heap, offX, offF, offY } = layout();
    expect(() => native!.conv2d(heap, offX, offF, heap.byteLength - 8, ...geometry)).toThrow(/outside the heap/);
    expect(() => native!.conv2dBackpropInput(heap, offY, offF, offF, ...geometry)).toThrow(/overlaps an input/);
    const zeroStride = [...geometry] as [...typeof geometry];
    (zeroStride as number[])[9] = 0;
    expect(() => native!.conv2d(heap, offX, offF, offY, ...zeroStride)).toThrow(/strides and dilations must be positive/);
  });
});

describe.runIf(native)('native Adam', () => {
  it("gives the same bits as tfjs's Adam on wasm, moments and β powers included, over steps with zero and large gradients", async () => {
    const run = async (make: () => tf.Optimizer) => {
      const opt = make();
      const vars = [tf.variable(tf.tensor2d(seq(300, (i) => Math.sin(i)), [30, 10])), tf.variable(tf.tensor1d(seq(7, (i) => Math.cos(i))))];
      for (let step = 0; step < 5; step++) {
        const grads = [tf.tensor2d(seq(300, (i) => (i % 4 === 0 ? 0 : Math.cos(i * (step + 1)) * 10 ** ((i % 7) - 3))), [30, 10]), tf.tensor1d(seq(7, (i) => 1e4 * Math.sin(i + step)))];
        opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
        tf.dispose(grads);
      }
      const weights = await opt.getWeights();
      const out = [...vars.map((v) => Array.from(v.dataSync())), ...weights.map((w) => Array.from(w.tensor.dataSync()))];
      opt.dispose();
      tf.dispose(vars);
      return out;
    };
    expect(hasFusedAdam()).toBe(true);
    const fused = await run(() => new Adam(0.003, 0.9, 0.999));
    const plain = await run(() => tf.train.adam(0.003));
    expect(fused).toEqual(plain);
  });
});

describe('native kernels switch', () => {
  it('reports its state; BIOCREDIT_NATIVE=0 turns the addon off', () => {
    expect(nativeStatus()).toMatch(native ? /^on \((avx512|avx2|generic)\)$/ : /^(not built|failed to load|off \(BIOCREDIT_NATIVE=0\))/);
    const off = runCli(['info', '--backend', 'wasm', '--json'], { BIOCREDIT_NATIVE: '0' });
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout).active.native).toBe('off (BIOCREDIT_NATIVE=0)');
  });
});
