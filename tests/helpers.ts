/** Shared test fixtures: small synthetic datasets, temp dirs, CLI runs. */
import * as tf from '@tensorflow/tfjs';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { loadMnistMini } from '../datasets/mnist.js';
import { ArrayDataset } from '../src/data.js';
import { Rng } from '../src/rng.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const CLI = join(ROOT, 'dist', 'bin', 'biocredit.js');

const tempDirs: string[] = [];

/** A fresh directory under the OS temp dir, removed when the test file ends (tests/setup.ts). */
export function tempDir(prefix = 'biocredit-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * A classification problem a student network can learn: Gaussian inputs labelled
 * by the argmax of a random two-layer ReLU teacher.
 */
export function teacherDataset(seed: string, n = 512, d = 20, k = 4, hidden = 16, inputShape: number[] = [d]): ArrayDataset {
  const rng = new Rng(`teacher/${seed}`);
  const total = n + 256;
  const x = rng.normals(total * d);
  const y = tf.tidy(() => {
    const w1 = tf.tensor(rng.normals(d * hidden, 1 / Math.sqrt(d)), [d, hidden]);
    const w2 = tf.tensor(rng.normals(hidden * k, 1 / Math.sqrt(hidden)), [hidden, k]);
    return tf.argMax(tf.matMul(tf.relu(tf.matMul(tf.tensor(x, [total, d]), w1)), w2), 1).dataSync() as Int32Array;
  });
  return new ArrayDataset(`teacher-${seed}`, inputShape, k, {
    train: { x: x.subarray(0, n * d), y: Int32Array.from(y.subarray(0, n)) },
    test: { x: x.subarray(n * d), y: Int32Array.from(y.subarray(n)) },
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Asserts a failed CLI call that printed exactly one line on stderr, matching `pattern`. */
export function oneLineError(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

/** The CLI's environment: the test's, without a COLUMNS a developer's shell exported (output is fitted to it), plus `env`. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base['COLUMNS'];
  return { ...base, ...env, FORCE_COLOR: '0' };
}

export function runCli(args: string[], env: Record<string, string> = {}): CliResult {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT, env: cliEnv(env) });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function spawnCli(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: cliEnv(env), stdio: 'pipe' });
}

/**
 * Starts a `train` run into `dir` and presses Ctrl-C once its first checkpoint
 * exists (a little later, so it is well into training); resolves with the exit
 * code and stderr.
 */
export async function interruptedTrain(args: string[], dir: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawnCli(['train', ...args, '--out', dir]);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const state = join(dir, 'checkpoint', 'state.json');
  const timer = setInterval(() => {
    if (existsSync(state)) {
      clearInterval(timer);
      setTimeout(() => child.kill('SIGINT'), 300);
    }
  }, 20);
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  clearInterval(timer);
  return { code, stderr };
}

/** Metric records without the fields that measure time. */
export function timeless(records: Record<string, unknown>[]): Record<string, unknown>[] {
  return records.map((r) => {
    const { wallSec: _w, examplesPerSec: _e, ...rest } = r;
    return rest;
  });
}

let digits: ArrayDataset | null = null;

/** The first 2048/512 mnist-mini digits, averaged 2×2 down to 14×14: a quick image task for conv nets. */
export function smallDigits(): ArrayDataset {
  if (digits) return digits;
  const mini = loadMnistMini({ val: 0 });
  const down = (split: 'train' | 'test', n: number) => {
    const src = mini.arrays(split).x;
    const x = new Float32Array(n * 196);
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < 14; r++) {
        for (let c = 0; c < 14; c++) {
          const at = (dr: number, dc: number) => src[i * 784 + (2 * r + dr) * 28 + 2 * c + dc]!;
          x[i * 196 + r * 14 + c] = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4;
        }
      }
    }
    return { x, y: mini.arrays(split).y.slice(0, n) };
  };
  digits = new ArrayDataset('digits14', [14, 14, 1], 10, { train: down('train', 2048), test: down('test', 512) });
  return digits;
}
