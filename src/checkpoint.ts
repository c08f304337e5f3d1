/**
 * Files on disk. Parameters use the TensorFlow.js weights format (model.json with
 * a weightsManifest, plus weights.bin) so other tools can read them; optimizer
 * and rule state use the same encoding, described in state.json.
 *
 * Writes are atomic: a file is written beside its target and renamed over it; a
 * checkpoint is assembled in checkpoint.tmp/ and swapped in with two renames
 * (if a crash falls between them, checkpoint.old/ is still complete and is used).
 */
import * as tf from '@tensorflow/tfjs';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataError, RunDirError } from './errors.js';
import type { RngState } from './rng.js';
import type { NamedTensor } from './tensors.js';
import type { Params } from './types.js';
import { VERSION } from './version.js';

export function writeFileSynced(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `path` so that readers see either the old or the new content, never a mix. */
export function atomicWrite(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSynced(tmp, data);
  renameSync(tmp, path);
}

export function atomicWriteJson(path: string, value: unknown): void {
  atomicWrite(path, `${JSON.stringify(value, null, 2)}\n`);
}

interface WeightsGroup {
  file: string;
  specs: tf.io.WeightsManifestEntry[];
}

async function writeGroup(dir: string, file: string, tensors: NamedTensor[]): Promise<WeightsGroup> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  writeFileSynced(join(dir, file), new Uint8Array(data));
  return { file, specs };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

function readGroup(dir: string, group: WeightsGroup): NamedTensor[] {
  const path = join(dir, group.file);
  if (!existsSync(path)) throw new RunDirError(dir, `${group.file} is missing`);
  const bytes = readFileSync(path);
  const need = group.specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * (BYTES[s.dtype] ?? 4), 0);
  if (bytes.byteLength !== need) {
    throw new DataError(path, `holds ${bytes.byteLength} bytes, but the ${group.specs.length} tensors listed for it need ${need} (the file is damaged, e.g. cut short)`);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const map = tf.io.decodeWeights(buffer, group.specs);
  return group.specs.map((s) => ({ name: s.name, tensor: map[s.name]! }));
}

const toList = (p: Params): NamedTensor[] => Object.entries(p).map(([name, tensor]) => ({ name, tensor }));
const toMap = (l: NamedTensor[]): Params => Object.fromEntries(l.map((t) => [t.name, t.tensor]));

/** Writes params as model.json + weights.bin into `dir` (created if needed). */
export async function writeParamsDir(dir: string, params: Params, metadata: Record<string, unknown>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const group = await writeGroup(dir, 'weights.bin', toList(params));
  writeFileSynced(
    join(dir, 'model.json'),
    `${JSON.stringify(
      {
        format: 'biocredit-params',
        generatedBy: `biocredit ${VERSION}`,
        convertedBy: null,
        modelTopology: null,
        weightsManifest: [{ paths: [group.file], weights: group.specs }],
        userDefinedMetadata: metadata,
      },
      null,
      2,
    )}\n`,
  );
}

export function readParamsDir(dir: string): { params: Params; metadata: Record<string, unknown> } {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) throw new RunDirError(dir, 'no model.json (not a biocredit parameter directory)');
  let json: { weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; userDefinedMetadata?: Record<string, unknown> };
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new RunDirError(dir, `model.json is not valid JSON (${(e as Error).message})`);
  }
  const manifest = json.weightsManifest?.[0];
  if (!manifest?.paths[0]) throw new RunDirError(dir, 'model.json has no weightsManifest');
  const params = toMap(readGroup(dir, { file: manifest.paths[0], specs: manifest.weights }));
  return { params, metadata: json.userDefinedMetadata ?? {} };
}

export interface CheckpointState<T> {
  step: number;
  trainer: T;
  rng: Record<string, RngState>;
  optimizer: NamedTensor[];
  rule: Params;
}

interface StateFile<T> {
  format: 'biocredit-checkpoint';
  version: 1;
  step: number;
  trainer: T;
  rng: Record<string, RngState>;
  optimizer: WeightsGroup;
  rule: WeightsGroup;
}

/** Atomically replaces `runDir/checkpoint/` with the given state. */
export async function saveCheckpoint<T>(runDir: string, params: Params, state: CheckpointState<T>): Promise<void> {
  const final = join(runDir, 'checkpoint');
  const tmp = join(runDir, 'checkpoint.tmp');
  const old = join(runDir, 'checkpoint.old');
  rmSync(tmp, { recursive: true, force: true });
  await writeParamsDir(tmp, params, { step: state.step });
  const file: StateFile<T> = {
    format: 'biocredit-checkpoint',
    version: 1,
    step: state.step,
    trainer: state.trainer,
    rng: state.rng,
    optimizer: await writeGroup(tmp, 'optimizer.bin', state.optimizer),
    rule: await writeGroup(tmp, 'rule.bin', toList(state.rule)),
  };
  writeFileSynced(join(tmp, 'state.json'), `${JSON.stringify(file, null, 2)}\n`);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(final)) renameSync(final, old);
  renameSync(tmp, final);
  rmSync(old, { recursive: true, force: true });
}

export function checkpointDir(runDir: string): string | null {
  for (const name of ['checkpoint', 'checkpoint.old']) {
    const dir = join(runDir, name);
    if (existsSync(join(dir, 'state.json'))) return dir;
  }
  return null;
}

export function loadCheckpoint<T>(runDir: string): { params: Params; state: CheckpointState<T> } {
  const dir = checkpointDir(runDir);
  if (!dir) throw new RunDirError(runDir, 'no checkpoint/ with a state.json (was this run started by biocredit train?)');
  let file: StateFile<T>;
  try {
    file = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  } catch (e) {
    throw new RunDirError(dir, `state.json is not valid JSON (${(e as Error).message})`);
  }
  if (file.format !== 'biocredit-checkpoint') throw new RunDirError(dir, 'state.json is not a biocredit checkpoint');
  try {
    const { params } = readParamsDir(dir);
    return {
      params,
      state: {
        step: file.step,
        trainer: file.trainer,
        rng: file.rng,
        optimizer: readGroup(dir, file.optimizer),
        rule: toMap(readGroup(dir, file.rule)),
      },
    };
  } catch (e) {
    // A swap interrupted at the wrong moment leaves the previous checkpoint complete beside the damaged one.
    const previous = join(runDir, 'checkpoint.old');
    if (e instanceof DataError && dir !== previous && existsSync(join(previous, 'state.json'))) {
      throw new DataError(e.file, `${e.problem}; the previous checkpoint is in ${previous}: move it to checkpoint/ to resume from there`);
    }
    throw e;
  }
}
