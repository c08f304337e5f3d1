import * as tf from '@tensorflow/tfjs';
import type { KernelOverride } from './kernel.js';

/**
 * Identity on wasm copies its input into a new heap buffer, and tfjs calls it for
 * every tensor it saves for a backward pass (Engine.clone), so a LeNet step made 36
 * full copies of its activations. Tensors are immutable and the wasm backend counts
 * references to a buffer (its Reshape shares one the same way), so this shares the
 * input's buffer instead, as the CPU backend's Identity does; checked against the
 * CPU backend in tests/src/kernels.test.ts.
 */
/** x itself as a new tensor on the same reference-counted heap buffer. */
export function shareBuffer(backend: unknown, x: tf.TensorInfo): tf.TensorInfo {
  (backend as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function install(backendName: string): void {
  const original = tf.getKernel('Identity', backendName);
  if (!original) return;
  tf.unregisterKernel('Identity', backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      return x.dtype === 'string' ? original.kernelFunc(args) : shareBuffer(args.backend, x);
    },
  });
}

export const identity: KernelOverride = {
  kernel: 'Identity',
  description: 'shares the input buffer instead of copying it (every tensor saved for a backward pass is one)',
  backends: ['wasm'],
  install,
};
