/**
 * The global norm √(Σ_tensors Σ_i t_i²) of a rule's update as one native pass
 * (native/src/rows.cc): every optimizer step reports it and refuses a non-finite
 * one, which took a Square and a Sum kernel per tensor, an AddN and a Sqrt. Sums
 * run in double precision, tensor after tensor in the given order.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelOverride } from './kernel.js';
import { isFloat32, registerNative } from './wasm-heap.js';

const KERNEL = 'BiocreditGlobalNorm';

function install(backendName: string): void {
  registerNative(KERNEL, backendName, ({ inputs }, native, heap) => {
    const ts = Object.keys(inputs)
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
      .map((k) => inputs[k] as tf.TensorInfo);
    if (!isFloat32(...ts)) throw new Error(`${KERNEL} takes float32 tensors`);
    let total = 0;
    for (const t of ts) total += native.sumSquares(heap.buffer(), heap.offset(t), tf.util.sizeFromShape(t.shape));
    const out = heap.output([]);
    new Float32Array(heap.buffer(), heap.offset(out), 1)[0] = Math.sqrt(total);
    return out;
  });
}

/** The global norm of float32 tensors by the native pass, or null where the active backend lacks it. */
export function nativeGlobalNorm(tensors: readonly tf.Tensor[]): tf.Scalar | null {
  if (tf.getKernel(KERNEL, tf.getBackend()) === undefined || tensors.some((t) => t.dtype !== 'float32')) return null;
  return tf.engine().runKernel(KERNEL, Object.fromEntries(tensors.map((t, i) => [`t${i}`, t]))) as tf.Scalar;
}

export const globalNormKernel: KernelOverride = {
  kernel: KERNEL,
  description: 'adds one native pass for the global norm of an update (a Square and a Sum per tensor, an AddN and a Sqrt)',
  backends: ['wasm'],
  install,
};
