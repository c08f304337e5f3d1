import * as tf from '@tensorflow/tfjs';
import { nativeKernels } from '../native-kernels.js';
import { kernelScope } from './scope.js';
import type { KernelOverride } from './kernel.js';
import { convGeometry, isFloat32, wasmHeap } from './wasm-heap.js';

/**
 * tfjs-backend-wasm 4.x has no Conv2DBackpropFilter kernel, so the gradient of
 * any convolution's filter fails on it. The filter gradient is itself a
 * convolution: with the roles of batch and channels swapped,
 *
 *   dK[kh, kw, ci, co] = Σ_{b, oh, ow} x_pad[b, oh·s + kh, ow·s + kw, ci] · dy[b, oh, ow, co]
 *
 * is conv2d(x_padᵀ [CI, H', W', B], dyᵀ [OH, OW, B, CO]) with dilation s, then
 * transposed to [KH, KW, CI, CO]. This registers that, built from the backend's
 * own Transpose, Slice and Conv2D kernels. With the native kernels, float32
 * gradients are one pass of im2col and the addon's GEMM instead
 * (native/src/conv.cc). Checked against the CPU backend in
 * tests/src/kernels.test.ts.
 */
function install(backendName: string): void {
  if (tf.getKernel('Conv2DBackpropFilter', backendName)) return;
  const need = ['Transpose', 'Slice', 'Conv2D'].map((k) => tf.getKernel(k, backendName));
  if (need.some((k) => !k)) return;
  const native = nativeKernels();
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs['x'] as tf.TensorInfo;
      const dy = inputs['dy'] as tf.TensorInfo;
      const { strides, pad, dimRoundingMode, filterShape } = attrs as unknown as {
        strides: [number, number] | number;
        pad: 'same' | 'valid' | number | number[][];
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        filterShape: [number, number, number, number];
      };
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filterShape,
        strides,
        1,
        pad as 'same',
        dimRoundingMode,
      );
      if (native && isFloat32(x, dy)) {
        const heap = wasmHeap(backend);
        const df = heap.output(filterShape);
        native.conv2dBackpropFilter(heap.buffer(), heap.offset(x), heap.offset(dy), heap.offset(df), ...convGeometry(info));
        return df;
      }
      const k = kernelScope(backendName, backend);
      const [kh, kw] = filterShape;
      const { top, left } = info.padInfo;
      // Rows and columns of the padded input that the forward convolution read.
      const rows = (info.outHeight - 1) * info.strideHeight + kh;
      const cols = (info.outWidth - 1) * info.strideWidth + kw;
      let xt = k.run('Transpose', { x }, { perm: [3, 1, 2, 0] });
      const [ci, h, w, b] = xt.shape as [number, number, number, number];
      const keepH = Math.min(h, rows - top);
      const keepW = Math.min(w, cols - left);
      if (keepH < h || keepW < w) xt = k.run('Slice', { x: xt }, { begin: [0, 0, 0, 0], size: [ci, keepH, keepW, b] });
      const dyt = k.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
      const conv = k.run(
        'Conv2D',
        { x: xt, filter: dyt },
        {
          strides: [1, 1],
          pad: [
            [0, 0],
            [top, rows - top - keepH],
            [left, cols - left - keepW],
            [0, 0],
          ],
          dataFormat: 'NHWC',
          dilations: [info.strideHeight, info.strideWidth],
        },
      );
      return k.result(k.run('Transpose', { x: conv }, { perm: [1, 2, 0, 3] }));
    },
  });
}

export const conv2dBackpropFilter: KernelOverride = {
  kernel: 'Conv2DBackpropFilter',
  description: 'adds the filter gradient wasm lacks: im2col and the native GEMM, or a convolution of the input with the output gradient',
  backends: ['wasm'],
  install,
};
