import * as tf from '@tensorflow/tfjs';
import type { KernelOverride } from './kernel.js';
import { isFloat32, replaceWithNative } from './wasm-heap.js';

/**
 * A ReLU layer's kernels as native vector passes (native/src/pointwise.cc): Relu
 * forward, and Step and Multiply, which make its gradient dy ⊙ step(x). wasm's
 * take 0.2-0.4 ms each on LeNet's first conv output (300k floats), several times
 * the memory traffic they need. Float32 only, and Multiply only for operands of
 * one shape; anything else stays wasm's. NaN propagates as on the CPU backend,
 * against which tests/src/kernels.test.ts checks them.
 */
const relu: KernelOverride = {
  kernel: 'Relu',
  description: 'one native pass when the addon is built',
  backends: ['wasm'],
  install: (backendName) =>
    replaceWithNative('Relu', backendName, ({ inputs }, native, heap) => {
      const x = inputs['x'] as tf.TensorInfo;
      if (!isFloat32(x)) return null;
      const out = heap.output(x.shape);
      native.relu(heap.buffer(), heap.offset(x), heap.offset(out), tf.util.sizeFromShape(x.shape));
      return out;
    }),
};

const step: KernelOverride = {
  kernel: 'Step',
  description: 'one native pass when the addon is built',
  backends: ['wasm'],
  install: (backendName) =>
    replaceWithNative('Step', backendName, ({ inputs, attrs }, native, heap) => {
      const x = inputs['x'] as tf.TensorInfo;
      const alpha = (attrs as unknown as { alpha?: number }).alpha ?? 0;
      if (!isFloat32(x) || !Number.isFinite(alpha)) return null;
      const out = heap.output(x.shape);
      native.step(heap.buffer(), heap.offset(x), heap.offset(out), tf.util.sizeFromShape(x.shape), alpha);
      return out;
    }),
};

const multiply: KernelOverride = {
  kernel: 'Multiply',
  description: 'one native pass for float32 operands of one shape when the addon is built',
  backends: ['wasm'],
  install: (backendName) =>
    replaceWithNative('Multiply', backendName, ({ inputs }, native, heap) => {
      const [a, b] = [inputs['a'], inputs['b']] as tf.TensorInfo[];
      if (!isFloat32(a!, b!) || !tf.util.arraysEqual(a!.shape, b!.shape)) return null;
      const out = heap.output(a!.shape);
      native.multiply(heap.buffer(), heap.offset(a!), heap.offset(b!), heap.offset(out), tf.util.sizeFromShape(a!.shape));
      return out;
    }),
};

export const pointwise = [relu, step, multiply] as const;
