import * as tf from '@tensorflow/tfjs';
import { nativeKernels } from '../native-kernels.js';
import type { KernelOverride } from './kernel.js';
import { convGeometry, isFloat32, poolInfo, wasmHeap } from './wasm-heap.js';

/**
 * tfjs-backend-wasm 4.22's MaxPoolGrad loses the gradient of every window whose
 * maximum is negative (its running maximum starts at 0, not −∞): measured here,
 * a 2×2 window of tanh outputs all below zero got no gradient, where the CPU
 * backend routes it to the window's maximum. ReLU-then-pool networks never see
 * it; tanh or sigmoid conv nets, and pooling before the activation, train on
 * wrong gradients. This replaces it with a direct loop over the windows that
 * routes each output gradient to the first maximum of its window, as the CPU
 * backend does (natively when the addon is built, native/src/conv.cc); checked
 * against the CPU backend in tests/src/kernels.test.ts.
 */
function install(backendName: string): void {
  const original = tf.getKernel('MaxPoolGrad', backendName);
  if (!original) return;
  const native = nativeKernels();
  tf.unregisterKernel('MaxPoolGrad', backendName);
  tf.registerKernel({
    ...original,
    setupFunc: undefined,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as {
        readSync(dataId: object): Float32Array;
        makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: Float32Array): tf.TensorInfo;
      };
      const dy = inputs['dy'] as tf.TensorInfo;
      const input = inputs['input'] as tf.TensorInfo;
      const info = poolInfo(input, attrs);
      if (native && isFloat32(input, dy)) {
        const heap = wasmHeap(backend);
        const dx = heap.output(input.shape);
        native.maxPoolGrad(heap.buffer(), heap.offset(input), heap.offset(dy), heap.offset(dx), ...convGeometry(info));
        return dx;
      }
      const x = b.readSync(input.dataId);
      const g = b.readSync(dy.dataId);
      const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
      const { effectiveFilterHeight: kh, effectiveFilterWidth: kw } = info;
      const { top, left } = info.padInfo;
      const dx = new Float32Array(batchSize * h * w * c);
      for (let n = 0; n < batchSize; n++) {
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++) {
            for (let ch = 0; ch < c; ch++) {
              let best = -Infinity;
              let at = -1;
              for (let a = 0; a < kh; a++) {
                const r = i * sh - top + a;
                if (r < 0 || r >= h) continue;
                for (let q = 0; q < kw; q++) {
                  const col = j * sw - left + q;
                  if (col < 0 || col >= w) continue;
                  const idx = ((n * h + r) * w + col) * c + ch;
                  if (x[idx]! > best) {
                    best = x[idx]!;
                    at = idx;
                  }
                }
              }
              if (at >= 0) dx[at]! += g[((n * oh + i) * ow + j) * c + ch]!;
            }
          }
        }
      }
      return b.makeOutput(input.shape, 'float32', undefined, dx);
    },
  });
}

export const maxPoolGrad: KernelOverride = {
  kernel: 'MaxPoolGrad',
  description: "routes each gradient to its window's first maximum, also where the maximum is negative (wasm drops those)",
  backends: ['wasm'],
  install,
};
