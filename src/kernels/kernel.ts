/**
 * The kernel override contract: one file per override in this folder, listed
 * in index.ts, each pinned against the plain CPU backend by a row of the kernel
 * test table (tests/src/kernels.test.ts). An override replaces or adds a tfjs
 * kernel on the named backends when one is first activated (src/backend.ts); a
 * native kernel (a compiled addon) plugs in the same way.
 */
export interface KernelOverride {
  /** The tfjs kernel it registers, e.g. `BatchMatMul`. */
  kernel: string;
  /** What it fixes or speeds up. */
  description: string;
  /** Backends it is installed on. */
  backends: readonly string[];
  install(backendName: string): void;
}
