/**
 * The native kernels: a C++ N-API addon (native/) that `npm install` builds for
 * the host's vector ISA and that computes in place on the wasm backend's heap.
 * Loaded once, on first use. Absent (not built, failing to load, or disabled by
 * BIOCREDIT_NATIVE=0), biocredit runs on plain WebAssembly; an addon that was
 * expected but does not load says so once on stderr.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './version.js';

/**
 * A convolution's geometry (native/src/conv.h): B, H, W, CI, OH, OW, CO, KH, KW,
 * strides (h, w), dilations (h, w), padding (top, left); for max pooling CI = CO
 * and KH × KW is the window.
 */
export type ConvGeometry = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

export interface NativeKernels {
  /** C = op(A) · op(B) over a batch (native/src/gemm.h); offsets in bytes into `heap`, strides in floats. */
  gemm(heap: ArrayBuffer, aOffset: number, bOffset: number, cOffset: number, batch: number, M: number, N: number, K: number, transA: boolean, transB: boolean, strideA: number, strideB: number): void;
  /** y = conv2d(x, filter), NHWC (native/src/conv.h). */
  conv2d(heap: ArrayBuffer, xOffset: number, filterOffset: number, yOffset: number, ...geometry: ConvGeometry): void;
  /** The input gradient of conv2d given dy. */
  conv2dBackpropInput(heap: ArrayBuffer, dyOffset: number, filterOffset: number, dxOffset: number, ...geometry: ConvGeometry): void;
  /** The filter gradient of conv2d given dy. */
  conv2dBackpropFilter(heap: ArrayBuffer, xOffset: number, dyOffset: number, dfilterOffset: number, ...geometry: ConvGeometry): void;
  /** Max pooling: each window's largest input (CI = CO; KH × KW is the window). */
  maxPool(heap: ArrayBuffer, xOffset: number, yOffset: number, ...geometry: ConvGeometry): void;
  /** Max pooling's input gradient, each output gradient to its window's first maximum. */
  maxPoolGrad(heap: ArrayBuffer, xOffset: number, dyOffset: number, dxOffset: number, ...geometry: ConvGeometry): void;
  /** A rate RNN's trial forward (native/src/rate-rnn.h): states xs and rates rs [T, B, N] from x0, J, d and noise xi (read only with hasNoise). */
  rateRnnForward(heap: ArrayBuffer, x0: number, J: number, d: number, xi: number, xs: number, rs: number, T: number, B: number, N: number, alpha: number, activation: number, hasNoise: boolean): void;
  /** Its BPTT: dd [T, B, N], dJ [N, N], dx0 [B, N] from the forward's tensors and the gradients dxs, drs of its outputs. */
  rateRnnBackward(
    heap: ArrayBuffer,
    x0: number,
    J: number,
    xs: number,
    rs: number,
    dxs: number,
    drs: number,
    dd: number,
    dJ: number,
    dx0: number,
    T: number,
    B: number,
    N: number,
    alpha: number,
    activation: number,
    truncate: number,
  ): void;
  /** One Adam step (native/src/adam.h): x1, m1, v1 from x, g, m, v (n floats each) and the float32 scalars c1 = 1 − β1^t, c2 = 1 − β2^t. */
  adam(heap: ArrayBuffer, x: number, g: number, m: number, v: number, c1: number, c2: number, x1: number, m1: number, v1: number, n: number, lr: number, beta1: number, beta2: number, epsilon: number): void;
  /** out = x + b for b [C] added to every row of x [rows, C] (native/src/rows.h). */
  addRow(heap: ArrayBuffer, x: number, b: number, out: number, rows: number, C: number): void;
  /** out [C] = the sum over the rows of x [rows, C]. */
  sumRows(heap: ArrayBuffer, x: number, out: number, rows: number, C: number): void;
  /** out = max(x, 0) over n floats (native/src/pointwise.h). */
  relu(heap: ArrayBuffer, x: number, out: number, n: number): void;
  /** out = 1 where x > 0, alpha elsewhere (NaN kept). */
  step(heap: ArrayBuffer, x: number, out: number, n: number, alpha: number): void;
  /** out = a ⊙ b over n floats. */
  multiply(heap: ArrayBuffer, a: number, b: number, out: number, n: number): void;
  /** Σ x[i]² over n floats, summed in double precision in a fixed order. */
  sumSquares(heap: ArrayBuffer, x: number, n: number): number;
  /** The vector ISA the addon was built for: avx512, avx2 or generic. */
  isa(): string;
}

const ADDON = join(PACKAGE_ROOT, 'native', 'build', 'Release', 'biocredit_native.node');

let cached: { kernels: NativeKernels | null; status: string } | undefined;

function load(): { kernels: NativeKernels | null; status: string } {
  if (process.env['BIOCREDIT_NATIVE'] === '0') return { kernels: null, status: 'off (BIOCREDIT_NATIVE=0)' };
  if (!existsSync(ADDON)) return { kernels: null, status: 'not built (npm install builds it with node-gyp)' };
  try {
    const kernels = createRequire(import.meta.url)(ADDON) as NativeKernels;
    return { kernels, status: `on (${kernels.isa()})` };
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    process.stderr.write(`biocredit: native kernels failed to load (${why}); running on WebAssembly\n`);
    return { kernels: null, status: `failed to load: ${why}` };
  }
}

/** The addon, or null when biocredit runs without it. */
export function nativeKernels(): NativeKernels | null {
  cached ??= load();
  return cached.kernels;
}

/** Whether the native kernels run, for `biocredit info` and run summaries: `on (avx512)`, `off (…)`, `not built (…)`. */
export function nativeStatus(): string {
  cached ??= load();
  return cached.status;
}
