/** Every kernel override, in installation order; the kernel test table has one row per entry. */
import { adam } from './adam.js';
import { add } from './add.js';
import { cast } from './cast.js';
import { conv2d } from './conv2d.js';
import { conv2dBackpropFilter } from './conv2d-backprop-filter.js';
import { conv2dBackpropInput } from './conv2d-backprop-input.js';
import { globalNormKernel } from './global-norm.js';
import { identity } from './identity.js';
import type { KernelOverride } from './kernel.js';
import { maxPool } from './max-pool.js';
import { maxPoolGrad } from './max-pool-grad.js';
import { pointwise } from './pointwise.js';
import { rateRnn } from './rate-rnn.js';
import { slice } from './slice.js';
import { sum } from './sum.js';
import { unpack } from './unpack.js';
import { transposedMatMul } from './transposed-matmul.js';

export const KERNELS: readonly KernelOverride[] = [transposedMatMul, conv2d, conv2dBackpropFilter, conv2dBackpropInput, maxPool, maxPoolGrad, ...pointwise, rateRnn, slice, unpack, adam, add, sum, identity, cast, globalNormKernel];
