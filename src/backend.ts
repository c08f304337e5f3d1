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
    patched.add('wasm');
  }
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
      let a = inputs['a'] as tf.TensorInfo;
      let b = inputs['b'] as tf.TensorInfo;
      const temporaries: tf.TensorInfo[] = [];
      if (transposeA) {
        a = transpose.kernelFunc({ inputs: { x: a }, backend, attrs: { perm: swapLastTwo(a.shape.length) } }) as tf.TensorInfo;
        temporaries.push(a);
      }
      if (transposeB) {
        b = transpose.kernelFunc({ inputs: { x: b }, backend, attrs: { perm: swapLastTwo(b.shape.length) } }) as tf.TensorInfo;
        temporaries.push(b);
      }
      const out = matmul.kernelFunc({
        inputs: { a, b },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
      for (const t of temporaries) (backend as tf.KernelBackend).disposeData(t.dataId);
      return out;
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
