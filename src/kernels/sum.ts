import * as tf from '@tensorflow/tfjs';
import { nativeKernels } from '../native-kernels.js';
import type { KernelOverride } from './kernel.js';
import { isFloat32, wasmHeap } from './wasm-heap.js';

/**
 * Sum on wasm over every axis but the last (a bias's gradient) runs as one
 * native pass over the rows (native/src/rows.cc) when the addon is built; wasm
 * transposes first (0.9 ms for LeNet's first conv output, measured here). Any
 * other Sum is wasm's. Checked against the CPU backend in tests/src/kernels.test.ts.
 */
function install(backendName: string): void {
  const original = tf.getKernel('Sum', backendName);
  const native = nativeKernels();
  if (!original || !native) return;
  tf.unregisterKernel('Sum', backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const rank = x.shape.length;
      const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
      const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
      if (!leading || !isFloat32(x)) return original.kernelFunc(args);
      const C = x.shape[rank - 1]!;
      const heap = wasmHeap(args.backend);
      const out = heap.output(keepDims ? [...new Array<number>(rank - 1).fill(1), C] : [C]);
      native.sumRows(heap.buffer(), heap.offset(x), heap.offset(out), C === 0 ? 0 : tf.util.sizeFromShape(x.shape) / C, C);
      return out;
    },
  });
}

export const sum: KernelOverride = {
  kernel: 'Sum',
  description: "a sum over every axis but the last (a bias's gradient) in one native pass when the addon is built",
  backends: ['wasm'],
  install,
};
