import * as tf from '@tensorflow/tfjs';
import { nativeKernels } from '../native-kernels.js';
import { kernelScope } from './scope.js';
import type { KernelOverride } from './kernel.js';
import { convGeometry, isFloat32, wasmHeap } from './wasm-heap.js';

/**
 * tfjs-backend-wasm's Conv2DBackpropInput (the input gradient of a convolution)
 * is a plain loop, ten times slower than its Conv2D (24 ms vs 2 ms for LeNet's
 * second layer at batch 64, measured here). For stride 1 the input gradient is a
 * convolution of the padded output gradient with the spatially flipped kernel,
 * in and out channels swapped:
 *
 *   dx[b, i, j, ci] = Σ_{a, c, co} dy_pad[b, i + a, j + c, co] · K[KH−1−a, KW−1−c, ci, co]
 *
 * with dy padded by KH−1−top above and KW−1−left to the left. Strided
 * convolutions keep the original kernel. With the native kernels, any float32
 * input gradient is the addon's GEMM and a col2im scatter instead
 * (native/src/conv.cc). Checked against the CPU backend in
 * tests/src/kernels.test.ts.
 */
function install(backendName: string): void {
  const original = tf.getKernel('Conv2DBackpropInput', backendName);
  const need = ['Reverse', 'Transpose', 'Conv2D'].map((k) => tf.getKernel(k, backendName));
  if (!original || need.some((k) => !k)) return;
  const native = nativeKernels();
  tf.unregisterKernel('Conv2DBackpropInput', backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { strides, pad, dimRoundingMode, inputShape, dilations } = attrs as unknown as {
        strides: [number, number] | number;
        pad: 'same' | 'valid' | number | number[][];
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        inputShape: [number, number, number, number];
        dilations?: [number, number] | number;
      };
      const filter = inputs['filter'] as tf.TensorInfo;
      const dy = inputs['dy'] as tf.TensorInfo;
      const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad as 'same', dimRoundingMode);
      const unitDilation = dilations === undefined || (Array.isArray(dilations) ? dilations.every((d) => d === 1) : dilations === 1);
      if (native && unitDilation && isFloat32(dy, filter)) {
        const heap = wasmHeap(backend);
        const dx = heap.output(inputShape);
        native.conv2dBackpropInput(heap.buffer(), heap.offset(dy), heap.offset(filter), heap.offset(dx), ...convGeometry(info));
        return dx;
      }
      if (info.strideHeight !== 1 || info.strideWidth !== 1 || !unitDilation) return original.kernelFunc(args);
      const k = kernelScope(backendName, backend);
      const [kh, kw] = filter.shape as [number, number, number, number];
      const [, h, w] = inputShape;
      const top = kh - 1 - info.padInfo.top;
      const left = kw - 1 - info.padInfo.left;
      const flipped = k.run('Reverse', { x: filter }, { dims: [0, 1] });
      const swapped = k.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
      const out = k.run(
        'Conv2D',
        { x: dy, filter: swapped },
        {
          strides: [1, 1],
          pad: [
            [0, 0],
            [top, h - info.outHeight - top + kh - 1],
            [left, w - info.outWidth - left + kw - 1],
            [0, 0],
          ],
          dataFormat: 'NHWC',
          dilations: [1, 1],
        },
      );
      return k.result(out);
    },
  });
}

export const conv2dBackpropInput: KernelOverride = {
  kernel: 'Conv2DBackpropInput',
  description: "the native GEMM and col2im; without the addon at stride 1, a convolution with the flipped kernel, ten times faster than wasm's loop",
  backends: ['wasm'],
  install,
};
