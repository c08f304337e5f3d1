/**
 * Options that reshape an image classification set for a study, usable with any
 * model: a two-class relabelling (`--binary 0-4:5-9`, one sigmoid output trained
 * with binary cross-entropy), pixels in [−1, 1], a constant bias input, and a
 * seeded subset of the training split (`--train-size N`). These are the data of
 * the gated-linear-network study (Lippl, Abbott, Chung 2022): MNIST 0–4 vs 5–9,
 * pixels in [−1, 1] plus a bias input, 500–2000 training examples.
 *
 * Order: validation split (file order) → relabelling → training subset → pixels → bias.
 */
import type { ArrayDataset, ArraySplit } from '../src/data.js';
import { UsageError } from '../src/errors.js';
import { option, parse } from '../src/options.js';
import { Rng } from '../src/rng.js';

export const PIXEL_RANGES = ['0..1', '-1..1'] as const;
export type PixelRange = (typeof PIXEL_RANGES)[number];

export interface TransformOptions {
  /** Two disjoint label sets `A:B` (class 0, class 1), e.g. `0-4:5-9`; null keeps every class. */
  binary: string | null;
  pixels: PixelRange;
  biasInput: boolean;
  /** Training examples kept (0: all). */
  trainSize: number;
}

/** Parses one side of `--binary`: comma-separated labels or ranges, e.g. `0-4` or `1,3,5-7`. */
function labelSet(raw: string): number[] {
  const out: number[] = [];
  for (const part of raw.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`must be two label sets A:B such as 0-4:5-9 or 3:8 ("${part}" is not a label or range)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`range ${part.trim()} runs backwards`);
    for (let v = lo; v <= hi; v++) out.push(v);
  }
  return out;
}

export function parseBinary(raw: string): [number[], number[]] {
  const sides = raw.split(':');
  if (sides.length !== 2) throw new Error('must be two label sets A:B such as 0-4:5-9 or 3:8');
  const a = labelSet(sides[0]!);
  const b = labelSet(sides[1]!);
  const both = a.filter((v) => b.includes(v));
  if (both.length) throw new Error(`puts label ${both[0]} in both classes`);
  return [a, b];
}

export const transformOptions = [
  option(
    'binary',
    '--binary <A:B>',
    'two-class task: labels in A → 0, in B → 1, others dropped (e.g. 0-4:5-9); one sigmoid output, binary cross-entropy',
    null as string | null,
    (raw: string): string => (parseBinary(raw), raw.replace(/\s+/g, '')),
  ),
  option('pixels', '--pixels <range>', `pixel range: ${PIXEL_RANGES.join(' or ')}`, '0..1' as PixelRange, parse.choice(PIXEL_RANGES)),
  option('biasInput', '--bias-input', 'append a constant 1 to every (flattened) input', false, parse.boolean),
  option('trainSize', '--train-size <n>', 'keep a random subset of n training examples, drawn from the run seed (0: all)', 0, parse.nonNegativeInt),
];

function relabel(s: ArraySplit, rowSize: number, [a, b]: [number[], number[]]): ArraySplit {
  const keep: number[] = [];
  const y: number[] = [];
  s.y.forEach((label, i) => {
    if (a.includes(label)) (keep.push(i), y.push(0));
    else if (b.includes(label)) (keep.push(i), y.push(1));
  });
  return pick(s, rowSize, keep, Int32Array.from(y));
}

function pick(s: ArraySplit, rowSize: number, rows: ArrayLike<number>, y?: Int32Array): ArraySplit {
  const x = new Float32Array(rows.length * rowSize);
  const yy = y ?? new Int32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const j = rows[k]!;
    x.set(s.x.subarray(j * rowSize, (j + 1) * rowSize), k * rowSize);
    if (!y) yy[k] = s.y[j]!;
  }
  return { x, y: yy };
}

/** Applies the transform options to a loaded image set; `seed` draws the training subset. */
export function applyTransforms(ds: ArrayDataset, given: Partial<TransformOptions>, seed: number): ArrayDataset {
  const o: TransformOptions = { binary: null, pixels: '0..1', biasInput: false, trainSize: 0, ...given };
  let out = ds;
  const rowSize = ds.inputShape.reduce((p, q) => p * q, 1);
  if (o.binary) {
    const sets = parseBinary(o.binary);
    const bad = [...sets[0], ...sets[1]].find((v) => v >= ds.outputSize);
    if (bad !== undefined) throw new UsageError(`--binary names label ${bad}, but ${ds.name} has labels 0–${ds.outputSize - 1}`);
    out = out.map((s) => relabel(s, rowSize, sets), { outputSize: 1, loss: 'sigmoid-bce' });
  }
  if (o.trainSize > 0) {
    const train = out.arrays('train');
    const n = train.y.length;
    if (o.trainSize > n) throw new UsageError(`--train-size ${o.trainSize} is more than the ${n} training examples ${ds.name} has${o.binary ? ' after --binary' : ''}`);
    const rows = new Rng(`train-size/${seed}`).permutation(n).subarray(0, o.trainSize).sort();
    out = out.with({ train: pick(train, rowSize, rows) });
  }
  if (o.pixels === '-1..1') out = out.map((s) => ({ x: s.x.map((v) => 2 * v - 1), y: s.y }));
  if (o.biasInput) {
    out = out.map(
      (s) => {
        const n = s.y.length;
        const x = new Float32Array(n * (rowSize + 1));
        for (let i = 0; i < n; i++) {
          x.set(s.x.subarray(i * rowSize, (i + 1) * rowSize), i * (rowSize + 1));
          x[i * (rowSize + 1) + rowSize] = 1;
        }
        return { x, y: s.y };
      },
      { inputShape: [rowSize + 1] },
    );
  }
  return out;
}
