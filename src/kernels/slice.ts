import * as tf from '@tensorflow/tfjs';
import type { KernelOverride } from './kernel.js';

/** The wasm backend's view of its heap. */
interface HeapViews {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view (not a copy) of a tensor's data on the heap. */
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

/**
 * x[begin : begin + size] copied on the wasm heap run by run (the innermost
 * dimension's contiguous stretches; one run when the slice is contiguous).
 */
export function heapSlice(backend: unknown, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const b = backend as HeapViews;
  const out = b.makeOutput(size, x.dtype);
  // Views after the allocation, which may grow the heap and replace its buffer.
  const src = b.typedArrayFromHeap(x);
  const dst = b.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  const total = tf.util.sizeFromShape(size);
  if (total === 0) return out;
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const at = tf.slice_util.computeFlatOffset(begin, strides);
    dst.set(src.subarray(at, at + total));
    return out;
  }
  const run = size[rank - 1]!;
  const index = new Array<number>(rank - 1).fill(0);
  for (let o = 0; o < total; o += run) {
    let at = begin[rank - 1]!;
    for (let d = 0; d < rank - 1; d++) at += (begin[d]! + index[d]!) * strides[d]!;
    dst.set(src.subarray(at, at + run), o);
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d]! < size[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

/**
 * tfjs-backend-wasm 4.22's Slice copies its whole input out of the heap
 * (`readSync`) before taking the slice: unstacking a [201, 32, 256] trial into
 * its 201 steps copied 1.3 GB and took 150 ms. This slices on the heap
 * directly; checked against the CPU backend in tests/src/kernels.test.ts.
 */
function install(backendName: string): void {
  const original = tf.getKernel('Slice', backendName);
  if (!original) return;
  tf.unregisterKernel('Slice', backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      if (x.dtype === 'string') return original.kernelFunc(args);
      const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
      const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
      return heapSlice(args.backend, x, b!, s!);
    },
  });
}

export const slice: KernelOverride = {
  kernel: 'Slice',
  description: 'slices on the heap instead of copying the whole input out first',
  backends: ['wasm'],
  install,
};
