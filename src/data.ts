/**
 * In-memory datasets. Examples live in typed arrays (one row per example) and
 * are copied into tensors one batch at a time, so a 60k-image training set
 * costs one Float32Array, not one tensor per example.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from './errors.js';
import type { LossKind } from './types.js';
import type { Rng } from './rng.js';
import type { Batch, Dataset, Split } from './types.js';

export interface ArraySplit {
  /** Inputs, row-major, `n × prod(inputShape)`. */
  x: Float32Array;
  /** Integer class labels. */
  y: Int32Array;
}

export class ArrayDataset implements Dataset {
  private readonly rowSize: number;

  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly outputSize: number,
    private readonly splits: Partial<Record<Split, ArraySplit>>,
    /** softmax-ce on class labels; sigmoid-bce on 0/1 labels with one output. */
    readonly loss: LossKind = 'softmax-ce',
  ) {
    this.rowSize = inputShape.reduce((a, b) => a * b, 1);
    for (const [split, data] of Object.entries(splits)) {
      if (data.x.length !== data.y.length * this.rowSize) {
        throw new Error(`${name}/${split}: ${data.y.length} labels but ${data.x.length / this.rowSize} inputs`);
      }
    }
  }

  size(split: Split): number {
    return this.splits[split]?.y.length ?? 0;
  }

  /** The raw arrays of a split (read-only by convention). */
  arrays(split: Split): ArraySplit {
    const s = this.splits[split];
    if (!s) throw new UsageError(`dataset ${this.name} has no ${split} split`);
    return s;
  }

  batch(split: Split, indices: ArrayLike<number>): Batch {
    const { x, y } = this.arrays(split);
    const b = indices.length;
    const d = this.rowSize;
    const xb = new Float32Array(b * d);
    const yb = new Int32Array(b);
    for (let i = 0; i < b; i++) {
      const j = indices[i]!;
      xb.set(x.subarray(j * d, (j + 1) * d), i * d);
      yb[i] = y[j]!;
    }
    return { x: tf.tensor(xb, [b, ...this.inputShape]), y: tf.tensor1d(yb, 'int32'), size: b };
  }

  /**
   * Moves the last `n` training examples (file order) into a validation split,
   * so the split is the same for every seed and every rule.
   */
  withValidation(n: number): ArrayDataset {
    if (n === 0) return this;
    const train = this.arrays('train');
    const total = train.y.length;
    if (n >= total) {
      throw new UsageError(`--val ${n} leaves no training data (${this.name} has ${total} training examples)`);
    }
    const keep = total - n;
    const d = this.rowSize;
    return this.with({
      train: { x: train.x.subarray(0, keep * d), y: train.y.subarray(0, keep) },
      val: { x: train.x.subarray(keep * d), y: train.y.subarray(keep) },
    });
  }

  /** The same dataset with some splits replaced (and optionally a new shape, output size or loss). */
  with(
    splits: Partial<Record<Split, ArraySplit>>,
    change: { inputShape?: number[]; outputSize?: number; loss?: LossKind } = {},
  ): ArrayDataset {
    return new ArrayDataset(
      this.name,
      change.inputShape ?? this.inputShape,
      change.outputSize ?? this.outputSize,
      { ...this.splits, ...splits },
      change.loss ?? this.loss,
    );
  }

  /** Every split passed through `fn`. */
  map(fn: (s: ArraySplit) => ArraySplit, change: { inputShape?: number[]; outputSize?: number; loss?: LossKind } = {}): ArrayDataset {
    const out: Partial<Record<Split, ArraySplit>> = {};
    for (const [k, v] of Object.entries(this.splits) as [Split, ArraySplit][]) out[k] = fn(v);
    return this.with(out, change);
  }
}

/**
 * Yields the batches of a split (its first `limit` examples): in file order
 * without `rng`, shuffled with it. The caller owns (and disposes) each batch's tensors.
 */
export function* batches(dataset: Dataset, split: Split, batchSize: number, rng?: Rng, limit = Infinity): Generator<Batch> {
  const n = Math.min(dataset.size(split), limit);
  const order = rng ? rng.permutation(n) : null;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const idx = order ? order.subarray(start, end) : Int32Array.from({ length: end - start }, (_, i) => start + i);
    yield dataset.batch(split, idx);
  }
}

/** The inputs of a batch; the rest of it (targets, mask, hints) is disposed. */
export function inputsOf(b: Batch): tf.Tensor {
  b.y.dispose();
  b.mask?.dispose();
  b.hints?.dispose();
  return b.x;
}

export function disposeBatch(b: Batch): void {
  inputsOf(b).dispose();
}
