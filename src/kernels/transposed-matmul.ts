import * as tf from '@tensorflow/tfjs';
import { kernelScope } from './scope.js';
import type { KernelOverride } from './kernel.js';

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * tfjs-backend-wasm 4.x computes BatchMatMul with transposeA/transposeB an
 * order of magnitude slower than an explicit transpose followed by a plain
 * matmul (measured here: 60 ms vs 4 ms for a 784×128 · 128×256 product). Every
 * backward pass of a dense layer uses those flags, so the kernel is wrapped to
 * transpose first; the results agree with the CPU backend (tests/src/kernels.test.ts).
 */
function install(backendName: string): void {
  const matmul = tf.getKernel('BatchMatMul', backendName);
  const transpose = tf.getKernel('Transpose', backendName);
  if (!matmul || !transpose) return;
  tf.unregisterKernel('BatchMatMul', backendName);
  tf.registerKernel({
    ...matmul,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return matmul.kernelFunc({ inputs, backend, attrs });
      const k = kernelScope(backendName, backend);
      const a = inputs['a'] as tf.TensorInfo;
      const b = inputs['b'] as tf.TensorInfo;
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
  description: 'transposes first: wasm products with transposed operands are ~10× slower than a transpose and a plain product',
  backends: ['wasm'],
  install,
};
