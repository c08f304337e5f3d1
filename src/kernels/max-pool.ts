import * as tf from '@tensorflow/tfjs';
import type { KernelOverride } from './kernel.js';
import { convGeometry, isFloat32, poolInfo, replaceWithNative } from './wasm-heap.js';

/**
 * MaxPool on the native kernels (native/src/conv.cc): each window's largest input,
 * all channels of a position at once, NaN skipped as on the CPU backend. wasm's
 * took 0.24 ms on LeNet's first conv output at batch 64 (measured here). Float32
 * NHWC only; checked against the CPU backend in tests/src/kernels.test.ts.
 */
export const maxPool: KernelOverride = {
  kernel: 'MaxPool',
  description: 'a native pass over the windows when the addon is built',
  backends: ['wasm'],
  install: (backendName) =>
    replaceWithNative('MaxPool', backendName, ({ inputs, attrs }, native, heap) => {
      const x = inputs['x'] as tf.TensorInfo;
      if (!isFloat32(x)) return null;
      const info = poolInfo(x, attrs);
      const y = heap.output(info.outShape);
      native.maxPool(heap.buffer(), heap.offset(x), heap.offset(y), ...convGeometry(info));
      return y;
    }),
};
