import * as tf from '@tensorflow/tfjs';
import { nativeKernels, type NativeKernels } from '../native-kernels.js';
import { kernelScope } from './scope.js';
import type { KernelOverride } from './kernel.js';
import { wasmHeap, type Heap } from './wasm-heap.js';

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * The product on the native addon, for float32 operands whose batch dimensions
 * are equal or one side's are all 1 (a shared matrix); null for anything else,
 * which the wasm path computes.
 */
function nativeMatMul(native: NativeKernels, heap: Heap, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const [outerA, outerB] = [a.shape.slice(0, -2), b.shape.slice(0, -2)];
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const [batchA, batchB, batch] = [outerA, outerB, outer].map((s) => tf.util.sizeFromShape(s)) as [number, number, number];
  // Either side steps through the batch in order, or is one matrix used for all of it.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  const [ra, ca] = a.shape.slice(-2) as [number, number];
  const [rb, cb] = b.shape.slice(-2) as [number, number];
  const [M, K] = transposeA ? [ca, ra] : [ra, ca];
  const N = transposeB ? rb : cb;
  const out = heap.output([...outer, M, N]);
  native.gemm(heap.buffer(), heap.offset(a), heap.offset(b), heap.offset(out), batch, M, N, K, transposeA, transposeB, batchA === 1 ? 0 : M * K, batchB === 1 ? 0 : K * N);
  return out;
}

/**
 * BatchMatMul on wasm. With the native kernels, float32 products run on the
 * addon's packed, vectorised GEMM in place on the wasm heap (every transpose
 * flag at full speed). Without them, a product with transposed operands is
 * transposed first: tfjs-backend-wasm 4.x computes those an order of magnitude
 * slower than an explicit transpose and a plain product (60 ms vs 4 ms for a
 * 784×128 · 128×256 product), and every backward pass of a dense layer uses
 * them. Both agree with the CPU backend (tests/src/kernels.test.ts).
 */
function install(backendName: string): void {
  const matmul = tf.getKernel('BatchMatMul', backendName);
  const transpose = tf.getKernel('Transpose', backendName);
  if (!matmul || !transpose) return;
  const native = nativeKernels();
  tf.unregisterKernel('BatchMatMul', backendName);
  tf.registerKernel({
    ...matmul,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      const a = inputs['a'] as tf.TensorInfo;
      const b = inputs['b'] as tf.TensorInfo;
      const fast = native && nativeMatMul(native, wasmHeap(backend), a, b, transposeA, transposeB);
      if (fast) return fast;
      if (!transposeA && !transposeB) return matmul.kernelFunc({ inputs, backend, attrs });
      const k = kernelScope(backendName, backend);
      const out = matmul.kernelFunc({
        inputs: {
          a: transposeA ? k.run('Transpose', { x: a }, { perm: swapLastTwo(a.shape.length) }) : a,
          b: transposeB ? k.run('Transpose', { x: b }, { perm: swapLastTwo(b.shape.length) }) : b,
        },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      return k.result(out);
    },
  });
}

export const transposedMatMul: KernelOverride = {
  kernel: 'BatchMatMul',
  description: 'the native GEMM when the addon is built; otherwise transposes first (wasm products with transposed operands are ~10× slower than a transpose and a plain product)',
  backends: ['wasm'],
  install,
};
