/** What a native kernel sees of the wasm backend: where tensors live on its heap, and how outputs are made. */
import * as tf from '@tensorflow/tfjs';
import { nativeKernels, type ConvGeometry, type NativeKernels } from '../native-kernels.js';

interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

export interface Heap {
  /** A new float32 output on the heap. */
  output(shape: number[]): tf.TensorInfo;
  /** The heap's current buffer: read it after the last `output` (an allocation may grow the heap and replace it). */
  buffer(): ArrayBuffer;
  /** Byte offset of a tensor's data. */
  offset(t: tf.TensorInfo): number;
}

export function wasmHeap(backend: unknown): Heap {
  const b = backend as WasmBackend;
  return {
    output: (shape) => b.makeOutput(shape, 'float32'),
    buffer: () => b.wasm.HEAPU8.buffer as ArrayBuffer,
    offset: (t) => b.dataIdMap.get(t.dataId).memoryOffset,
  };
}

/** The geometry the native convolution kernels take, from tfjs's own conv or pool info. */
export function convGeometry(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/** tfjs's geometry of a max or average pooling call from its kernel attributes. */
export function poolInfo(x: tf.TensorInfo, attrs: unknown): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  return tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

export const isFloat32 = (...ts: tf.TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * Replaces a wasm kernel with a native one when the addon is built: `run` computes
 * the call on the heap, or returns null to hand it to the original kernel (other
 * dtypes, shapes it does not cover).
 */
export function replaceWithNative(kernel: string, backendName: string, run: (args: KernelArgs, native: NativeKernels, heap: Heap) => tf.TensorInfo | null): void {
  const original = tf.getKernel(kernel, backendName);
  const native = nativeKernels();
  if (!original || !native) return;
  tf.unregisterKernel(kernel, backendName);
  tf.registerKernel({ ...original, kernelFunc: (args) => run(args, native, wasmHeap(args.backend)) ?? original.kernelFunc(args) });
}

/** Registers a kernel of biocredit's own (one tfjs has no kernel for) on a backend, when the addon is built and it is not there yet. */
export function registerNative(kernel: string, backendName: string, run: (args: KernelArgs, native: NativeKernels, heap: Heap) => tf.TensorInfo | tf.TensorInfo[]): void {
  const native = nativeKernels();
  if (!native || tf.getKernel(kernel, backendName)) return;
  tf.registerKernel({ kernelName: kernel, backendName, kernelFunc: (args) => run(args, native, wasmHeap(args.backend)) });
}
