/**
 * A rate RNN's whole trial as two native kernels (native/src/rate-rnn.cc):
 * `RateRnnSequence` integrates
 *
 *   x_{t+1} = (1 − α) x_t + α (f(x_t) J + d_t) + ξ_t,   t = 0 … T−1,
 *
 * in one call and returns every state and rate; `RateRnnSequenceGrad` runs BPTT
 * (optionally truncated) over it in one call. A BPTT step of the rate RNN issues
 * ~40 tfjs kernels per time step otherwise (8,000 for a 200-step trial), each
 * with ~20–70 µs of fixed cost. Registered on wasm only when the addon is built;
 * elsewhere the model unrolls step by step.
 *
 * Its gradient is first-order only (the backward kernel has none), so the model
 * uses it unless a second-order gradient is being recorded: training, evaluation
 * and first-order analyses run on it, the curvature analyses' Hessian-vector
 * products keep the per-step graph. Checked against that graph on the CPU
 * backend in tests/src/kernels.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationName } from '../activations.js';
import { nativeKernels } from '../native-kernels.js';
import type { KernelOverride } from './kernel.js';
import { wasmHeap } from './wasm-heap.js';

const FORWARD = 'RateRnnSequence';
const BACKWARD = 'RateRnnSequenceGrad';

/** The activation codes of native/src/rate-rnn.h. */
const CODES: Record<ActivationName, number> = { linear: 0, relu: 1, tanh: 2, sigmoid: 3, softplus: 4 };

interface Attrs {
  alpha: number;
  activation: number;
  truncate: number;
}

function install(backendName: string): void {
  const native = nativeKernels();
  if (!native || tf.getKernel(FORWARD, backendName)) return;
  registerGradient();
  tf.registerKernel({
    kernelName: FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { alpha, activation } = attrs as unknown as Attrs;
      const [x0, J, d, xi] = ['x0', 'J', 'd', 'xi'].map((k) => inputs[k] as tf.TensorInfo | undefined);
      const [T, B, N] = d!.shape as [number, number, number];
      const heap = wasmHeap(backend);
      const xs = heap.output([T, B, N]);
      const rs = heap.output([T, B, N]);
      const at = heap.offset;
      native.rateRnnForward(heap.buffer(), at(x0!), at(J!), at(d!), xi ? at(xi) : 0, at(xs), at(rs), T, B, N, alpha, activation, xi !== undefined);
      return [xs, rs];
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { alpha, activation, truncate } = attrs as unknown as Attrs;
      const [x0, J, xs, rs, dxs, drs] = ['x0', 'J', 'xs', 'rs', 'dxs', 'drs'].map((k) => inputs[k] as tf.TensorInfo);
      const [T, B, N] = xs!.shape as [number, number, number];
      const heap = wasmHeap(backend);
      const dd = heap.output([T, B, N]);
      const dJ = heap.output([N, N]);
      const dx0 = heap.output([B, N]);
      const at = heap.offset;
      native.rateRnnBackward(heap.buffer(), at(x0!), at(J!), at(xs!), at(rs!), at(dxs!), at(drs!), at(dd), at(dJ), at(dx0), T, B, N, alpha, activation, truncate);
      return [dd, dJ, dx0];
    },
  });
}

/** The forward kernel's gradient: one call of the backward kernel gives all of its inputs'. */
function registerGradient(): void {
  if (tf.getGradient(FORWARD)) return;
  tf.registerGradient({
    kernelName: FORWARD,
    inputsToSave: ['x0', 'J'],
    outputsToSave: [true, true],
    gradFunc: (dy, saved, attrs) => {
      const [dxs, drs] = dy as (tf.Tensor | null)[];
      const [x0, J, xs, rs] = saved;
      const { alpha } = attrs as unknown as Attrs;
      // Computed here, not inside the per-input closures: the tape runs each closure in its own
      // scope, which would dispose the other two outputs.
      const [dd, dJ, dx0] = tf.engine().runKernel(
        BACKWARD,
        { x0: x0!, J: J!, xs: xs!, rs: rs!, dxs: dxs ?? tf.zerosLike(xs!), drs: drs ?? tf.zerosLike(rs!) },
        attrs,
      ) as tf.Tensor[];
      return {
        x0: () => dx0!,
        J: () => dJ!,
        d: () => dd!,
        // ∂L/∂ξ_t = δ_{t+1} = (∂L/∂d_t) / α.
        xi: () => tf.div(dd!, alpha),
      };
    },
  });
}

export interface RateSequenceOptions {
  alpha: number;
  activation: ActivationName;
  /** Cut the gradient through the state every this many steps (0: never). */
  truncate: number;
}

/** Whether the active backend has the native trial kernels (`rateSequence` needs them). */
export function hasRateSequence(): boolean {
  return tf.getKernel(FORWARD, tf.getBackend()) !== undefined;
}

/**
 * States and rates [T, B, N] (time-major) of a trial from x0 [B, N], the masked
 * J [N, N], the external drive d = u W_in + b [T, B, N] and recurrent noise ξ
 * [T, B, N] (optional), differentiable once in x0, J, d and ξ.
 */
export function rateSequence(x0: tf.Tensor2D, J: tf.Tensor2D, d: tf.Tensor3D, xi: tf.Tensor3D | undefined, opts: RateSequenceOptions): { xs: tf.Tensor3D; rs: tf.Tensor3D } {
  const attrs: Attrs = { alpha: opts.alpha, activation: CODES[opts.activation], truncate: opts.truncate };
  const inputs: tf.NamedTensorMap = { x0, J, d, ...(xi ? { xi } : {}) };
  const [xs, rs] = tf.engine().runKernel(FORWARD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D[];
  return { xs: xs!, rs: rs! };
}

export const rateRnn: KernelOverride = {
  kernel: FORWARD,
  description: "adds a rate RNN's whole trial (forward and BPTT) as native kernels, for the rnn model's training passes",
  backends: ['wasm'],
  install,
};
