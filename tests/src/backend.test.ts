import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, parseBackendChoice, requestedBackend } from '../../src/backend.js';
import { UsageError } from '../../src/errors.js';

describe('backend selection', () => {
  afterAll(async () => {
    await initBackend('wasm');
  });

  it('parses names and rejects unknown ones with the source named', () => {
    expect(parseBackendChoice('WASM', '--backend')).toBe('wasm');
    expect(parseBackendChoice('tensorflow', '--backend')).toBe('node');
    expect(() => parseBackendChoice('gpu', '--backend')).toThrow(/--backend must be one of auto, node, wasm, cpu, got "gpu"/);
  });

  it('lets BIOCREDIT_BACKEND choose when no flag is given, and the flag win over it', () => {
    const old = process.env['BIOCREDIT_BACKEND'];
    process.env['BIOCREDIT_BACKEND'] = 'cpu';
    try {
      expect(requestedBackend()).toBe('cpu');
      expect(requestedBackend('wasm')).toBe('wasm');
      process.env['BIOCREDIT_BACKEND'] = 'nonsense';
      expect(() => requestedBackend()).toThrow(/BIOCREDIT_BACKEND must be one of/);
    } finally {
      if (old === undefined) delete process.env['BIOCREDIT_BACKEND'];
      else process.env['BIOCREDIT_BACKEND'] = old;
    }
  });

  it('refuses the native backend with a clear error when tfjs-node is absent', async () => {
    let nativeAvailable = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      nativeAvailable = false;
    }
    if (nativeAvailable) {
      expect(await initBackend('node')).toBe('tensorflow');
    } else {
      await expect(initBackend('node')).rejects.toThrow(UsageError);
      await expect(initBackend('node')).rejects.toThrow(/@tensorflow\/tfjs-node/);
    }
  });

  it('transposed matmuls on wasm match the plain CPU backend', async () => {
    const a = [2, 3, 5].map((n, i) => Array.from({ length: 7 * n }, (_, j) => Math.sin(j * (i + 1))));
    const cases: [number[], number[], number[], number[], boolean, boolean][] = [
      [a[0]!, [7, 2], a[0]!, [7, 2], true, false],
      [a[1]!, [3, 7], a[1]!, [3, 7], false, true],
      [a[2]!, [7, 5], a[2]!, [5, 7], true, true],
    ];
    const results: Record<string, number[][]> = {};
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend);
      results[backend] = cases.map(([av, as, bv, bs, ta, tb]) =>
        tf.tidy(() => Array.from(tf.matMul(tf.tensor(av, as), tf.tensor(bv, bs), ta, tb).dataSync())),
      );
      // Batched (rank-3) products take the same path.
      results[backend]!.push(
        tf.tidy(() => {
          const x = tf.tensor(a[2]!.concat(a[2]!), [2, 7, 5]);
          return Array.from(tf.matMul(x, x, true, false).dataSync());
        }),
      );
    }
    results['cpu']!.forEach((r, i) => {
      const w = results['wasm']![i]!;
      expect(w.length).toBe(r.length);
      w.forEach((v, j) => expect(v).toBeCloseTo(r[j]!, 4));
    });
  });
});
