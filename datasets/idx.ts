/**
 * IDX files (the MNIST family's format; LeCun et al.). A file is a 4-byte magic
 * number — two zero bytes, a data-type code, the number of dimensions — then
 * one big-endian uint32 per dimension, then the data, big-endian, row-major.
 * Files may be gzipped. Every check names the file and what was wrong.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ArrayDataset } from '../src/data.js';
import { DataError, UsageError } from '../src/errors.js';

const TYPES = {
  0x08: { name: 'ubyte', size: 1, read: (v: DataView, o: number) => v.getUint8(o) },
  0x09: { name: 'sbyte', size: 1, read: (v: DataView, o: number) => v.getInt8(o) },
  0x0b: { name: 'short', size: 2, read: (v: DataView, o: number) => v.getInt16(o) },
  0x0c: { name: 'int', size: 4, read: (v: DataView, o: number) => v.getInt32(o) },
  0x0d: { name: 'float', size: 4, read: (v: DataView, o: number) => v.getFloat32(o) },
  0x0e: { name: 'double', size: 8, read: (v: DataView, o: number) => v.getFloat64(o) },
} as const;

type TypeCode = keyof typeof TYPES;
export type IdxTypeName = (typeof TYPES)[TypeCode]['name'];

export interface IdxArray {
  type: IdxTypeName;
  dims: number[];
  /** Values in row-major order (ubyte data stays a Uint8Array). */
  data: Uint8Array | Float64Array;
}

const hex = (v: number, width: number) => `0x${v.toString(16).padStart(width, '0')}`;

/** Parses the bytes of an IDX file; `file` names it in errors. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new DataError(file, `corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  if (bytes.length < 4) throw new DataError(file, `truncated: ${bytes.length} bytes, shorter than the 4-byte IDX magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const code = bytes[2]!;
  const ndims = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || !(code in TYPES) || ndims === 0) {
    throw new DataError(
      file,
      `not an IDX file: magic number ${hex(magic, 8)}, expected 0x0000TTNN with a type code TT in {08,09,0b,0c,0d,0e} and NN ≥ 1 dimensions`,
    );
  }
  const type = TYPES[code as TypeCode];
  const header = 4 + 4 * ndims;
  if (bytes.length < header) {
    throw new DataError(file, `truncated: ${bytes.length} bytes, but the header of a ${ndims}-dimensional IDX file needs ${header}`);
  }
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  if (dims.some((d) => d === 0)) throw new DataError(file, `a dimension is zero (dims ${dims.join('×')})`);
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = header + count * type.size;
  if (bytes.length !== expected) {
    const problem = bytes.length < expected ? 'truncated' : 'has trailing bytes';
    throw new DataError(
      file,
      `${problem}: dims ${dims.join('×')} of ${type.name} need ${expected} bytes, the file has ${bytes.length}`,
    );
  }
  if (type.name === 'ubyte') return { type: type.name, dims, data: bytes.subarray(header, expected) };
  const data = new Float64Array(count);
  for (let i = 0, o = header; i < count; i++, o += type.size) data[i] = type.read(view, o);
  return { type: type.name, dims, data };
}

export function readIdxFile(path: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new DataError(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseIdx(bytes, path);
}

const STEMS = {
  trainImages: ['train-images', 'idx3'],
  trainLabels: ['train-labels', 'idx1'],
  testImages: ['t10k-images', 'idx3'],
  testLabels: ['t10k-labels', 'idx1'],
} as const;

/** Finds the four standard files in `dir` (`train-images-idx3-ubyte`, also `.idx3-ubyte` and `.gz`). */
export function findIdxFiles(dir: string): Record<keyof typeof STEMS, string> {
  if (!existsSync(dir)) throw new UsageError(`--data-dir ${dir}: directory not found`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`--data-dir ${dir}: not a directory`);
  const out = {} as Record<keyof typeof STEMS, string>;
  for (const [key, [stem, kind]] of Object.entries(STEMS) as [keyof typeof STEMS, readonly [string, string]][]) {
    const candidates = [`${stem}-${kind}-ubyte`, `${stem}.${kind}-ubyte`].flatMap((f) => [f, `${f}.gz`]);
    const found = candidates.find((f) => existsSync(join(dir, f)));
    if (!found) throw new UsageError(`--data-dir ${dir}: missing ${stem}-${kind}-ubyte (or .gz)`);
    out[key] = join(dir, found);
  }
  return out;
}

function images(file: string, arr: IdxArray): { x: Float32Array; shape: number[] } {
  if (arr.dims.length < 2 || arr.dims.length > 4) {
    throw new DataError(file, `expected images with 3 dimensions (count×height×width), found ${arr.dims.join('×')}`);
  }
  const [, ...rest] = arr.dims;
  const shape = rest.length === 1 ? rest : rest.length === 2 ? [...rest, 1] : rest;
  const x = new Float32Array(arr.data.length);
  // ubyte pixels are scaled to [0, 1]; other types are taken as they are.
  const scale = arr.type === 'ubyte' ? 1 / 255 : 1;
  for (let i = 0; i < x.length; i++) x[i] = arr.data[i]! * scale;
  return { x, shape };
}

function labels(file: string, arr: IdxArray): Int32Array {
  if (arr.dims.length !== 1) throw new DataError(file, `expected labels with 1 dimension, found ${arr.dims.join('×')}`);
  const y = new Int32Array(arr.data.length);
  for (let i = 0; i < y.length; i++) {
    const v = arr.data[i]!;
    if (!Number.isInteger(v) || v < 0) throw new DataError(file, `label ${i} is ${v}, expected an integer ≥ 0`);
    y[i] = v;
  }
  return y;
}

/**
 * The number of classes: `classes` when given (every label must be below it),
 * else the labels the files hold, which must then be 0 … K−1 — a stray label
 * (200 in a set of digits) would otherwise make a 201-way output layer.
 */
function classCount(sets: [string, Int32Array][], classes: number | null): number {
  if (classes !== null) {
    for (const [file, y] of sets) {
      const i = y.findIndex((v) => v >= classes);
      if (i >= 0) throw new DataError(file, `label ${y[i]} at index ${i} is not below --classes ${classes}`);
    }
    return classes;
  }
  const seen = new Set<number>();
  for (const [, y] of sets) for (const v of y) seen.add(v);
  const k = seen.size;
  for (const [file, y] of sets) {
    const i = y.findIndex((v) => v >= k);
    if (i >= 0) {
      throw new DataError(file, `label ${y[i]} at index ${i}: the labels must be 0 … K−1, but the files hold ${k} distinct labels up to ${Math.max(...seen)}; if the set has more classes than its labels show, give --classes`);
    }
  }
  return k;
}

/** Loads the four standard IDX files of `dir` as a classification dataset. */
export function loadIdxDirectory(name: string, dir: string, classes: number | null = null): ArrayDataset {
  const files = findIdxFiles(dir);
  const trainImages = images(files.trainImages, readIdxFile(files.trainImages));
  const testImages = images(files.testImages, readIdxFile(files.testImages));
  const trainLabels = labels(files.trainLabels, readIdxFile(files.trainLabels));
  const testLabels = labels(files.testLabels, readIdxFile(files.testLabels));
  const rowSize = trainImages.shape.reduce((a, b) => a * b, 1);
  if (testImages.shape.join('×') !== trainImages.shape.join('×')) {
    throw new DataError(files.testImages, `image shape ${testImages.shape.join('×')} differs from the training images' ${trainImages.shape.join('×')}`);
  }
  for (const [imgFile, img, lblFile, lbl] of [
    [files.trainImages, trainImages, files.trainLabels, trainLabels],
    [files.testImages, testImages, files.testLabels, testLabels],
  ] as const) {
    if (img.x.length / rowSize !== lbl.length) {
      throw new DataError(lblFile, `${lbl.length} labels for ${img.x.length / rowSize} images in ${imgFile}`);
    }
  }
  const k = classCount([[files.trainLabels, trainLabels], [files.testLabels, testLabels]], classes);
  return new ArrayDataset(name, trainImages.shape, k, {
    train: { x: trainImages.x, y: trainLabels },
    test: { x: testImages.x, y: testLabels },
  });
}
