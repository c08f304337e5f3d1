/**
 * Backend selection: the native TensorFlow backend (@tensorflow/tfjs-node, an
 * optional dependency) when it can be loaded, else WebAssembly (SIMD,
 * single-threaded in Node), else the plain JavaScript CPU backend. `--backend`
 * or BIOCREDIT_BACKEND overrides the choice; every run records the backend used.
 * A backend's kernel overrides (src/kernels/) are installed when it is first activated.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { UsageError } from './errors.js';
import { KERNELS } from './kernels/index.js';
import { nativeStatus } from './native-kernels.js';

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
  if (!patched.has(name)) {
    for (const k of KERNELS) if (k.backends.includes(name)) k.install(name);
    patched.add(name);
  }
}

export interface BackendInfo {
  backend: string;
  simd?: boolean;
  threads?: boolean;
  /** The native kernels on the wasm heap: `on (avx512)`, `off (BIOCREDIT_NATIVE=0)`, `not built (…)`. */
  native?: string;
}

export function backendInfo(): BackendInfo {
  const backend = tf.getBackend();
  if (backend !== 'wasm') return { backend };
  return {
    backend,
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
    native: nativeStatus(),
  };
}
