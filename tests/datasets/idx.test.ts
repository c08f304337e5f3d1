import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { findIdxFiles, loadIdxDirectory, parseIdx } from '../../datasets/idx.js';
import { DataError, UsageError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';

/** Builds an IDX file by hand: magic, big-endian dims, data. */
function idx(code: number, dims: number[], values: number[]): Uint8Array {
  const size = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[code]!;
  const buf = Buffer.alloc(4 + 4 * dims.length + values.length * size);
  buf.writeUInt8(code, 2);
  buf.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
  const off = 4 + 4 * dims.length;
  values.forEach((v, i) => {
    const o = off + i * size;
    if (code === 0x08) buf.writeUInt8(v, o);
    else if (code === 0x09) buf.writeInt8(v, o);
    else if (code === 0x0b) buf.writeInt16BE(v, o);
    else if (code === 0x0c) buf.writeInt32BE(v, o);
    else if (code === 0x0d) buf.writeFloatBE(v, o);
    else buf.writeDoubleBE(v, o);
  });
  return new Uint8Array(buf);
}

/** A tiny image set: n images of h×w with pixel (i, p) = (7i + p) mod 256, label i mod k. */
function writeSet(dir: string, names: { images: string; labels: string }, n: number, h: number, w: number, k: number, gzip = false) {
  const pixels = Array.from({ length: n * h * w }, (_, j) => (7 * Math.floor(j / (h * w)) + (j % (h * w))) % 256);
  const labels = Array.from({ length: n }, (_, i) => i % k);
  const enc = (b: Uint8Array) => (gzip ? gzipSync(b) : b);
  writeFileSync(join(dir, names.images), enc(idx(0x08, [n, h, w], pixels)));
  writeFileSync(join(dir, names.labels), enc(idx(0x08, [n], labels)));
}

function standardDir(opts: { gzip?: boolean; dotted?: boolean } = {}): string {
  const dir = tempDir('idx-');
  const sep = opts.dotted ? '.' : '-';
  const gz = opts.gzip ? '.gz' : '';
  writeSet(dir, { images: `train-images${sep}idx3-ubyte${gz}`, labels: `train-labels${sep}idx1-ubyte${gz}` }, 12, 4, 3, 3, opts.gzip);
  writeSet(dir, { images: `t10k-images${sep}idx3-ubyte${gz}`, labels: `t10k-labels${sep}idx1-ubyte${gz}` }, 5, 4, 3, 3, opts.gzip);
  return dir;
}

describe('parseIdx', () => {
  it('reads every IDX data type, big-endian', () => {
    expect(parseIdx(idx(0x08, [3], [1, 2, 255]), 'f')).toMatchObject({ type: 'ubyte', dims: [3] });
    expect(Array.from(parseIdx(idx(0x08, [3], [1, 2, 255]), 'f').data)).toEqual([1, 2, 255]);
    expect(Array.from(parseIdx(idx(0x09, [2], [-3, 4]), 'f').data)).toEqual([-3, 4]);
    expect(Array.from(parseIdx(idx(0x0b, [2], [-300, 300]), 'f').data)).toEqual([-300, 300]);
    expect(Array.from(parseIdx(idx(0x0c, [1, 2], [-70000, 70000]), 'f').data)).toEqual([-70000, 70000]);
    expect(Array.from(parseIdx(idx(0x0d, [2], [0.5, -2.25]), 'f').data)).toEqual([0.5, -2.25]);
    expect(Array.from(parseIdx(idx(0x0e, [1], [Math.PI]), 'f').data)).toEqual([Math.PI]);
  });

  it('reads gzipped files', () => {
    const a = parseIdx(gzipSync(idx(0x08, [2, 2], [1, 2, 3, 4])), 'f.gz');
    expect(a.dims).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4]);
  });

  it('rejects a bad magic number, naming the file', () => {
    const bad = idx(0x08, [2], [1, 2]);
    bad[0] = 0x50;
    expect(() => parseIdx(bad, 'x/train-images-idx3-ubyte')).toThrow(DataError);
    expect(() => parseIdx(bad, 'x/train-images-idx3-ubyte')).toThrow(/x\/train-images-idx3-ubyte: not an IDX file: magic number 0x50000801/);
    const badType = idx(0x08, [2], [1, 2]);
    badType[2] = 0x07;
    expect(() => parseIdx(badType, 'f')).toThrow(/not an IDX file/);
  });

  it('rejects truncated files and trailing bytes with the sizes', () => {
    const good = idx(0x08, [10, 4], Array.from({ length: 40 }, (_, i) => i));
    expect(() => parseIdx(good.subarray(0, 30), 'f')).toThrow('f: truncated: dims 10×4 of ubyte need 52 bytes, the file has 30');
    expect(() => parseIdx(good.subarray(0, 6), 'f')).toThrow(/truncated: 6 bytes, but the header of a 2-dimensional IDX file needs 12/);
    expect(() => parseIdx(good.subarray(0, 2), 'f')).toThrow(/truncated: 2 bytes/);
    expect(() => parseIdx(new Uint8Array([...good, 0, 0]), 'f')).toThrow(/has trailing bytes: .* need 52 bytes, the file has 54/);
  });

  it('rejects corrupt gzip data', () => {
    const gz = gzipSync(idx(0x08, [100], Array.from({ length: 100 }, (_, i) => i)));
    expect(() => parseIdx(gz.subarray(0, gz.length - 10), 'f.gz')).toThrow(/f.gz: corrupt or truncated gzip data/);
  });
});

describe('IDX directories', () => {
  it('refuses a stray label (200 in a 3-class set) by its value and index, or takes --classes', () => {
    const dir = standardDir();
    const labels = Array.from({ length: 12 }, (_, i) => (i === 7 ? 200 : i % 3));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx(0x08, [12], labels));
    expect(() => loadIdxDirectory('tiny', dir)).toThrow(/train-labels-idx1-ubyte: label 200 at index 7: the labels must be 0 … K−1, but the files hold 4 distinct labels up to 200; .*--classes/);
    expect(() => loadIdxDirectory('tiny', dir, 10)).toThrow(/train-labels-idx1-ubyte: label 200 at index 7 is not below --classes 10/);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx(0x08, [12], labels.map((v) => (v === 200 ? 5 : v))));
    expect(loadIdxDirectory('tiny', dir, 10).outputSize).toBe(10);
  });

  it.each([
    ['plain', {}],
    ['gzipped', { gzip: true }],
    ['dotted names', { dotted: true }],
  ])('loads the four standard files (%s)', (_name, opts) => {
    const ds = loadIdxDirectory('tiny', standardDir(opts));
    expect(ds.size('train')).toBe(12);
    expect(ds.size('test')).toBe(5);
    expect(ds.inputShape).toEqual([4, 3, 1]);
    expect(ds.outputSize).toBe(3);
    const { x, y } = ds.arrays('train');
    // Image 2, pixel 5 was written as (7·2 + 5) = 19, scaled to [0, 1].
    expect(x[2 * 12 + 5]).toBeCloseTo(19 / 255, 6);
    expect(Array.from(y.subarray(0, 4))).toEqual([0, 1, 2, 0]);
  });

  it('names the missing file or directory', () => {
    const dir = standardDir();
    expect(() => findIdxFiles(join(dir, 'nope'))).toThrow(UsageError);
    expect(() => findIdxFiles(join(dir, 'nope'))).toThrow(/--data-dir .*nope: directory not found/);
    const partial = tempDir('idx-partial-');
    writeSet(partial, { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' }, 3, 2, 2, 2);
    expect(() => findIdxFiles(partial)).toThrow(/missing t10k-images-idx3-ubyte \(or .gz\)/);
  });

  it('rejects label files that disagree with their images', () => {
    const dir = standardDir();
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx(0x08, [4], [0, 1, 2, 0]));
    expect(() => loadIdxDirectory('tiny', dir)).toThrow(/t10k-labels-idx1-ubyte: 4 labels for 5 images/);
  });

  it('rejects a corrupt image file by name', () => {
    const dir = standardDir();
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), Buffer.from('this is not an idx file'));
    expect(() => loadIdxDirectory('tiny', dir)).toThrow(/train-images-idx3-ubyte: not an IDX file/);
  });
});
