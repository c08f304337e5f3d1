import * as tf from '@tensorflow/tfjs';
import { nativeKernels } from '../native-kernels.js';
import type { KernelOverride } from './kernel.js';
import { convGeometry, isFloat32, wasmHeap } from './wasm-heap.js';

/**
 * Conv2D on the native kernels: im2col and the addon's packed GEMM
 * (native/src/conv.cc), six times faster than wasm's XNNPACK convolution on
 * LeNet's first layer at batch 64 (0.4 vs 2.4 ms, measured here). Without the
 * addon, or for anything but float32 NHWC, wasm's own kernel runs. Checked
 * against the CPU backend in tests/src/kernels.test.ts.
 */
function install(backendName: string): void {
  const original = tf.getKernel('Conv2D', backendName);
  const native = nativeKernels();
  if (!original || !native) return;
  tf.unregisterKernel('Conv2D', backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const x = inputs['x'] as tf.TensorInfo;
      const filter = inputs['filter'] as tf.TensorInfo;
      const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as {
        strides: [number, number] | number;
        pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
        dataFormat: 'NHWC' | 'NCHW';
        dilations: [number, number] | number;
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
      };
      if (dataFormat !== 'NHWC' || !isFloat32(x, filter)) return original.kernelFunc(args);
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filter.shape as [number, number, number, number],
        strides,
        dilations,
        pad,
        dimRoundingMode,
      );
      const heap = wasmHeap(backend);
      const y = heap.output(info.outShape);
      native.conv2d(heap.buffer(), heap.offset(x), heap.offset(filter), heap.offset(y), ...convGeometry(info));
      return y;
    },
  });
}

export const conv2d: KernelOverride = {
  kernel: 'Conv2D',
  description: 'im2col and the native GEMM when the addon is built',
  backends: ['wasm'],
  install,
};
