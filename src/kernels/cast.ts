import * as tf from '@tensorflow/tfjs';
import { shareBuffer } from './identity.js';
import type { KernelOverride } from './kernel.js';

/**
 * Cast to the dtype a tensor already has copies it on wasm; ReLU's gradient casts
 * its float32 step mask to float32, a full copy of every activation per step. The
 * same-dtype cast shares the input's buffer instead (as identity.ts does). Casts to
 * bool on wasm 4.22 truncate to an integer and keep its low byte (−4 became 252,
 * −0.6 became 0); here a number becomes true exactly when it is not 0, as on the
 * CPU backend. Other casts stay wasm's. Checked against the CPU backend in
 * tests/src/kernels.test.ts.
 */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

function install(backendName: string): void {
  const original = tf.getKernel('Cast', backendName);
  if (!original) return;
  tf.unregisterKernel('Cast', backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      const to = (args.attrs as unknown as { dtype: tf.DataType }).dtype;
      const backend = args.backend as unknown as WasmBackend;
      if (x.dtype === 'string') return original.kernelFunc(args);
      if (to === x.dtype) return shareBuffer(backend, x);
      if (to !== 'bool') return original.kernelFunc(args);
      const out = backend.makeOutput(x.shape, 'bool');
      const from = backend.typedArrayFromHeap(x);
      const bits = backend.typedArrayFromHeap(out);
      for (let i = 0; i < bits.length; i++) bits[i] = from[i] !== 0 ? 1 : 0;
      return out;
    },
  });
}

export const cast: KernelOverride = {
  kernel: 'Cast',
  description: 'shares the input buffer for a cast to the dtype it already has; casts to bool test for nonzero',
  backends: ['wasm'],
  install,
};
