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

type Shape4 = readonly [number, number, number, number];

/**
 * The gradient of sum(conv2d(x, k)²) with respect to x or k on the CPU backend
 * and on wasm (whose conv gradient kernels biocredit supplies), as flat arrays.
 */
async function convGradOnBothBackends(wrt: 'x' | 'filter', xShape: Shape4, kShape: Shape4, stride: number, pad: 'same' | 'valid') {
  const n = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const xv = Array.from({ length: n(xShape) }, (_, i) => Math.sin(0.37 * i));
  const kv = Array.from({ length: n(kShape) }, (_, i) => Math.cos(0.11 * i));
  const out: number[][] = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend(backend);
    out.push(
      tf.tidy(() => {
        const x = tf.tensor4d(xv, [...xShape]);
        const k = tf.tensor4d(kv, [...kShape]);
        const loss = (xi: tf.Tensor, ki: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xi as tf.Tensor4D, ki as tf.Tensor4D, stride, pad)));
        const g = wrt === 'x' ? tf.grad((xi: tf.Tensor) => loss(xi, k))(x) : tf.grad((ki: tf.Tensor) => loss(x, ki))(k);
        return Array.from(g.dataSync());
      }),
    );
  }
  await initBackend('wasm');
  return { cpu: out[0]!, wasm: out[1]! };
}

describe.each(['filter', 'x'] as const)('convolution gradient with respect to %s on wasm', (wrt) => {
  it.each([
    [[2, 9, 9, 3], [3, 3, 3, 4], 1, 'same'],
    [[2, 9, 9, 3], [3, 3, 3, 4], 1, 'valid'],
    [[3, 10, 11, 2], [4, 4, 2, 3], 1, 'same'],
    [[2, 14, 14, 6], [5, 5, 6, 16], 1, 'valid'],
    [[3, 10, 11, 2], [5, 5, 2, 3], 2, 'same'],
    [[3, 10, 11, 2], [4, 4, 2, 3], 2, 'same'],
    [[1, 12, 12, 1], [5, 5, 1, 6], 3, 'valid'],
  ] as const)('x %j, filter %j, stride %i, %s: matches the CPU backend', async (xShape, kShape, stride, pad) => {
    const { cpu, wasm } = await convGradOnBothBackends(wrt, xShape, kShape, stride, pad);
    expect(wasm.length).toBe(cpu.length);
    const scale = Math.max(...cpu.map(Math.abs));
    wasm.forEach((v, i) => expect(Math.abs(v - cpu[i]!) / scale).toBeLessThan(1e-5));
  });
});

describe('max-pooling gradient on wasm', () => {
  it.each([
    [2, 2, 'valid'],
    [3, 2, 'same'],
    [2, 1, 'valid'],
    [3, 3, 'valid'],
  ] as const)('window %i, stride %i, %s: matches the CPU backend, including windows whose maximum is negative', async (k, stride, pad) => {
    const xv = Array.from({ length: 2 * 7 * 7 * 3 }, (_, i) => Math.sin(1.7 * i) - 0.95);
    const grads: number[][] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend);
      grads.push(
        tf.tidy(() => {
          const f = (x: tf.Tensor) => tf.sum(tf.square(tf.maxPool(x as tf.Tensor4D, k, stride, pad)));
          return Array.from(tf.grad(f)(tf.tensor4d(xv, [2, 7, 7, 3])).dataSync());
        }),
      );
    }
    await initBackend('wasm');
    const [cpu, wasm] = grads as [number[], number[]];
    // Some windows hold only negative values, where the stock wasm kernel dropped the gradient.
    expect(cpu.filter((v) => v < 0).length).toBeGreaterThan(0);
    wasm.forEach((v, i) => expect(v).toBeCloseTo(cpu[i]!, 5));
  });
});
