/**
 * Backend selection: the native TensorFlow backend (@tensorflow/tfjs-node, an
 * optional dependency) when it can be loaded, else WebAssembly (SIMD,
 * single-threaded in Node), else the plain JavaScript CPU backend. `--backend`
 * or BIOCREDIT_BACKEND overrides the choice; every run records the backend used.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { UsageError } from './errors.js';

export const BACKEND_CHOICES = ['auto', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** tfjs's own names: 'tensorflow' is the native backend of tfjs-node. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_ENV = 'BIOCREDIT_BACKEND';

const tfName: Record<Exclude<BackendChoice, 'auto'>, BackendName> = {
  node: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

let nativeLoad: Promise<boolean> | null = null;

async function loadNative(): Promise<boolean> {
  nativeLoad ??= import('@tensorflow/tfjs-node' as string).then(
    () => true,
    () => false,
  );
  return nativeLoad;
}

/** Parses a backend name from a flag or the environment. */
export function parseBackendChoice(raw: string, source: string): BackendChoice {
  const v = raw.trim().toLowerCase();
  if (v === 'tensorflow') return 'node';
  if (!(BACKEND_CHOICES as readonly string[]).includes(v)) {
    throw new UsageError(`${source} must be one of ${BACKEND_CHOICES.join(', ')}, got "${raw}"`);
  }
  return v as BackendChoice;
}

/** The choice in effect: the argument if given, else BIOCREDIT_BACKEND, else auto. */
export function requestedBackend(choice?: BackendChoice): BackendChoice {
  if (choice && choice !== 'auto') return choice;
  const env = process.env[BACKEND_ENV];
  if (env && env.trim() !== '') return parseBackendChoice(env, BACKEND_ENV);
  return 'auto';
}

/**
 * Activates a backend and returns tfjs's name for it. Safe to call repeatedly;
 * switching backends within one process is allowed (tests do it).
 */
export async function initBackend(choice?: BackendChoice): Promise<BackendName> {
  const want = requestedBackend(choice);
  const order: Exclude<BackendChoice, 'auto'>[] = want === 'auto' ? ['node', 'wasm', 'cpu'] : [want];
  for (const c of order) {
    if (c === 'node' && !(await loadNative())) {
      if (want === 'node') {
        throw new UsageError(
          'backend "node" needs @tensorflow/tfjs-node, which is not installed here (its installer downloads libtensorflow); use wasm or cpu',
        );
      }
      continue;
    }
    const name = tfName[c];
    if (tf.getBackend() === name) return name;
    if (await tf.setBackend(name)) {
      await tf.ready();
      afterActivate(name);
      return name;
    }
    if (want !== 'auto') throw new UsageError(`backend "${c}" could not be initialised`);
  }
  throw new UsageError('no tfjs backend could be initialised');
}

const patched = new Set<string>();

function afterActivate(name: BackendName): void {
  if (name === 'cpu') {
    // The CPU backend greets Node users on its first tensor with advice to
    // install tfjs-node; biocredit already reports its backend, and the greeting
    // would corrupt `--json` output on stdout.
    const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
    if (cpu) cpu.firstUse = false;
  }
  if (name === 'wasm' && !patched.has('wasm')) {
    patchTransposedMatMul('wasm');
    addConv2DBackpropFilter('wasm');
    patchConv2DBackpropInput('wasm');
    patchMaxPoolGrad('wasm');
    patched.add('wasm');
  }
}

/**
 * Runs other kernels of the same backend from inside a kernel function; every
 * intermediate is freed by `result`, which returns the one output kept.
 */
function kernelScope(backendName: string, backend: unknown) {
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

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * tfjs-backend-wasm 4.x computes BatchMatMul with transposeA/transposeB an
 * order of magnitude slower than an explicit transpose followed by a plain
 * matmul (measured here: 60 ms vs 4 ms for a 784×128 · 128×256 product). Every
 * backward pass of a dense layer uses those flags, so the kernel is wrapped to
 * transpose first; the results agree with the CPU backend (tests/src/backend.test.ts).
 */
function patchTransposedMatMul(backendName: string): void {
  const matmul = tf.getKernel('BatchMatMul', backendName);
  const transpose = tf.getKernel('Transpose', backendName);
  if (!matmul || !transpose) return;
  tf.unregisterKernel('BatchMatMul', backendName);
  tf.registerKernel({
    ...matmul,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return matmul.kernelFunc({ inputs, backend, attrs });
      const k = kernelScope(backendName, backend);
      const a = inputs['a'] as tf.TensorInfo;
      const b = inputs['b'] as tf.TensorInfo;
      const out = matmul.kernelFunc({
        inputs: {
          a: transposeA ? k.run('Transpose', { x: a }, { perm: swapLastTwo(a.shape.length) }) : a,
          b: transposeB ? k.run('Transpose', { x: b }, { perm: swapLastTwo(b.shape.length) }) : b,
        },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      return k.result(out);
    },
  });
}

/**
 * tfjs-backend-wasm 4.x has no Conv2DBackpropFilter kernel, so the gradient of
 * any convolution's filter fails on it. The filter gradient is itself a
 * convolution: with the roles of batch and channels swapped,
 *
 *   dK[kh, kw, ci, co] = Σ_{b, oh, ow} x_pad[b, oh·s + kh, ow·s + kw, ci] · dy[b, oh, ow, co]
 *
 * is conv2d(x_padᵀ [CI, H', W', B], dyᵀ [OH, OW, B, CO]) with dilation s, then
 * transposed to [KH, KW, CI, CO]. This registers that, built from the backend's
 * own Transpose, Slice and Conv2D kernels. Checked against the CPU backend in
 * tests/src/backend.test.ts.
 */
function addConv2DBackpropFilter(backendName: string): void {
  if (tf.getKernel('Conv2DBackpropFilter', backendName)) return;
  const need = ['Transpose', 'Slice', 'Conv2D'].map((k) => tf.getKernel(k, backendName));
  if (need.some((k) => !k)) return;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const k = kernelScope(backendName, backend);
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
 * convolutions keep the original kernel. Checked against the CPU backend in
 * tests/src/backend.test.ts.
 */
function patchConv2DBackpropInput(backendName: string): void {
  const original = tf.getKernel('Conv2DBackpropInput', backendName);
  const need = ['Reverse', 'Transpose', 'Conv2D'].map((k) => tf.getKernel(k, backendName));
  if (!original || need.some((k) => !k)) return;
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

/**
 * tfjs-backend-wasm 4.22's MaxPoolGrad loses the gradient of every window whose
 * maximum is negative (its running maximum starts at 0, not −∞): measured here,
 * a 2×2 window of tanh outputs all below zero got no gradient, where the CPU
 * backend routes it to the window's maximum. ReLU-then-pool networks never see
 * it; tanh or sigmoid conv nets, and pooling before the activation, train on
 * wrong gradients. This replaces it with a direct loop over the windows that
 * routes each output gradient to the first maximum of its window, as the CPU
 * backend does; checked against the CPU backend in tests/src/backend.test.ts.
 */
function patchMaxPoolGrad(backendName: string): void {
  const original = tf.getKernel('MaxPoolGrad', backendName);
  if (!original) return;
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
      const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
        filterSize: [number, number] | number;
        strides: [number, number] | number;
        pad: 'valid' | 'same' | number;
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
      };
      const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
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

export interface BackendInfo {
  backend: string;
  simd?: boolean;
  threads?: boolean;
}

export function backendInfo(): BackendInfo {
  const backend = tf.getBackend();
  if (backend !== 'wasm') return { backend };
  return {
    backend,
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
}
