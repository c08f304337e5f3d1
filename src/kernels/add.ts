import * as tf from '@tensorflow/tfjs';
import { nativeKernels } from '../native-kernels.js';
import type { KernelOverride } from './kernel.js';
import { isFloat32, wasmHeap } from './wasm-heap.js';

/**
 * Add on wasm, for a bias: x [..., C] + b [C] (or b shaped [1, ..., 1, C]) runs
 * as one native pass over the rows (native/src/rows.cc) when the addon is
 * built; wasm's broadcasting Add takes six times as long as an Add of equal
 * shapes (1.5 vs 0.24 ms for LeNet's first conv output, measured here). Any
 * other Add is wasm's. Checked against the CPU backend in tests/src/kernels.test.ts.
 */
function install(backendName: string): void {
  const original = tf.getKernel('Add', backendName);
  const native = nativeKernels();
  if (!original || !native) return;
  tf.unregisterKernel('Add', backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const [a, b] = [args.inputs['a'], args.inputs['b']] as tf.TensorInfo[];
      const isRow = (row: tf.TensorInfo, of: tf.TensorInfo) =>
        of.shape.length >= 2 && row.shape.length <= of.shape.length && row.shape.at(-1) === of.shape.at(-1) && tf.util.sizeFromShape(row.shape) === of.shape.at(-1);
      const [x, row] = isRow(b!, a!) ? [a!, b!] : isRow(a!, b!) ? [b!, a!] : [null, null];
      if (!x || !row || !isFloat32(x, row) || x.shape.at(-1) === 0) return original.kernelFunc(args);
      const C = x.shape.at(-1)!;
      const heap = wasmHeap(args.backend);
      const out = heap.output(x.shape);
      native.addRow(heap.buffer(), heap.offset(x), heap.offset(row), heap.offset(out), tf.util.sizeFromShape(x.shape) / C, C);
      return out;
    },
  });
}

export const add: KernelOverride = {
  kernel: 'Add',
  description: 'a bias added to every row in one native pass when the addon is built',
  backends: ['wasm'],
  install,
};
