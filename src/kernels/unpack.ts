import * as tf from '@tensorflow/tfjs';
import type { KernelOverride } from './kernel.js';
import { heapSlice } from './slice.js';

/**
 * Unpack (tf.unstack) on wasm calls the backend's internal slice per output, which
 * copies the whole input out of the heap each time (see slice.ts): O(T²) for a
 * T-step trial. This takes each output with the heap slice instead; checked
 * against the CPU backend in tests/src/kernels.test.ts.
 */
function install(backendName: string): void {
  const original = tf.getKernel('Unpack', backendName);
  if (!original) return;
  tf.unregisterKernel('Unpack', backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const value = args.inputs['value'] as tf.TensorInfo;
      if (value.dtype === 'string') return original.kernelFunc(args);
      const rank = value.shape.length;
      const axis = ((args.attrs as unknown as { axis: number }).axis + rank) % rank;
      const outShape = value.shape.filter((_, d) => d !== axis);
      const size = value.shape.map((n, d) => (d === axis ? 1 : n));
      return Array.from({ length: value.shape[axis]! }, (_, i) => {
        const out = heapSlice(args.backend, value, size.map((_, d) => (d === axis ? i : 0)), size);
        return { dataId: out.dataId, dtype: out.dtype, shape: outShape };
      });
    },
  });
}

export const unpack: KernelOverride = {
  kernel: 'Unpack',
  description: 'unstacks with heap slices instead of one full copy of the input per output',
  backends: ['wasm'],
  install,
};
