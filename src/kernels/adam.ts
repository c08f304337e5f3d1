/**
 * One Adam step of one tensor as a native kernel (native/src/adam.cc): the
 * twelve wasm kernels of tfjs's AdamOptimizer per tensor in one pass, with the
 * same float32 operations in the same order, so the results are the same bits
 * (tests/src/native.test.ts). src/optim.ts's Adam uses it when the active
 * backend has it, and keeps tfjs's slots, so checkpoints are unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelOverride } from './kernel.js';
import { registerNative } from './wasm-heap.js';

const KERNEL = 'BiocreditAdam';

export interface AdamConstants {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

function install(backendName: string): void {
  registerNative(KERNEL, backendName, ({ inputs, attrs }, native, heap) => {
    const { lr, beta1, beta2, epsilon } = attrs as unknown as AdamConstants;
    const [x, g, m, v, c1, c2] = ['x', 'g', 'm', 'v', 'c1', 'c2'].map((k) => inputs[k] as tf.TensorInfo);
    const outs = [heap.output(x!.shape), heap.output(x!.shape), heap.output(x!.shape)] as const;
    const at = heap.offset;
    native.adam(heap.buffer(), at(x!), at(g!), at(m!), at(v!), at(c1!), at(c2!), at(outs[0]), at(outs[1]), at(outs[2]), tf.util.sizeFromShape(x!.shape), lr, beta1, beta2, epsilon);
    return [...outs];
  });
}

/** Whether the active backend has the fused Adam step. */
export function hasFusedAdam(): boolean {
  return tf.getKernel(KERNEL, tf.getBackend()) !== undefined;
}

/** x', m', v' of one Adam step; c1, c2 are the scalars 1 − β1^t and 1 − β2^t. */
export function fusedAdam(x: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, c1: tf.Scalar, c2: tf.Scalar, constants: AdamConstants): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(KERNEL, { x, g, m, v, c1, c2 }, constants as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}

export const adam: KernelOverride = {
  kernel: KERNEL,
  description: "adds one native pass for an Adam step, bit-identical to tfjs's twelve kernels",
  backends: ['wasm'],
  install,
};
