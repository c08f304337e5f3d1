/** Helpers for kernel overrides written in terms of the backend's own kernels. */
import * as tf from '@tensorflow/tfjs';

/**
 * Runs other kernels of the same backend from inside a kernel function; every
 * intermediate is freed by `result`, which returns the one output kept.
 */
export function kernelScope(backendName: string, backend: unknown) {
  const temporaries: tf.TensorInfo[] = [];
  return {
    run(name: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>): tf.TensorInfo {
      const out = tf.getKernel(name, backendName)!.kernelFunc({ inputs, backend: backend as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
      temporaries.push(out);
      return out;
    },
    result(out: tf.TensorInfo): tf.TensorInfo {
      for (const t of temporaries) if (t !== out) (backend as tf.KernelBackend).disposeData(t.dataId);
      return out;
    },
  };
}
