/**
 * Comparisons: every rule × seed as its own run directory under one compare
 * directory. This module plans a comparison (which runs are finished, which to
 * resume, which to start), guards the directory against a different command,
 * and aggregates the runs' results; the CLI runs the workers.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { atomicWriteJson } from './checkpoint.js';
import type { RunConfig } from './config.js';
import { RunDirError, UsageError } from './errors.js';
import type { DiagRecord, EvalRecord, RunSummary } from './trainer.js';

/** What makes two compare commands the same: every resolved setting except seed and backend. */
export interface Fingerprint {
  rules: string[];
  seeds: number[];
  configs: Record<string, Omit<RunConfig, 'seed' | 'backend' | 'biocredit'>>;
}

export function fingerprint(rules: string[], seeds: number[], configs: Record<string, RunConfig>): Fingerprint {
  const strip = (c: RunConfig) => {
    const { seed: _s, backend: _b, biocredit: _v, ...rest } = c;
    return rest;
  };
  return { rules, seeds, configs: Object.fromEntries(rules.map((r) => [r, strip(configs[r]!)])) };
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function fingerprintHash(fp: Fingerprint): string {
  return createHash('sha256').update(stable(fp)).digest('hex').slice(0, 8);
}

/** The first place two values differ, as `path: a vs b`, or null when they are equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (stable(a) === stable(b)) return null;
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
  }
  return `${path || 'settings'}: ${JSON.stringify(a)} there vs ${JSON.stringify(b)} now`;
}

export interface CompareFile {
  format: 'biocredit-compare';
  version: 1;
  fingerprint: Fingerprint;
  command: string;
}

export const COMPARE_FILE = 'compare.json';

export function defaultCompareDir(fp: Fingerprint): string {
  const c = fp.configs[fp.rules[0]!]!;
  return join('runs', `compare-${c.model.name}-${c.dataset.name}-${fingerprintHash(fp)}`);
}

/** Creates the compare directory, or checks that an existing one was made by the same command. */
export function openCompareDir(dir: string, fp: Fingerprint, command: string): string {
  dir = resolve(dir);
  const file = join(dir, COMPARE_FILE);
  if (existsSync(file)) {
    let existing: CompareFile;
    try {
      existing = JSON.parse(readFileSync(file, 'utf8')) as CompareFile;
    } catch (e) {
      throw new RunDirError(dir, `${COMPARE_FILE} is not valid JSON (${(e as Error).message})`);
    }
    const old = existing.fingerprint;
    const diff =
      firstDifference(old.rules, fp.rules, 'rules') ?? firstDifference(old.seeds, fp.seeds, 'seeds') ?? firstDifference(old.configs, fp.configs, 'configs');
    if (diff) {
      throw new UsageError(
        `--out ${dir} holds a comparison made by a different command (${diff}); its runs would not be comparable with these — choose another --out`,
      );
    }
    return dir;
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new UsageError(`--out ${dir} exists, is not empty and holds no ${COMPARE_FILE}; choose another --out`);
  }
  mkdirSync(dir, { recursive: true });
  atomicWriteJson(file, { format: 'biocredit-compare', version: 1, fingerprint: fp, command } satisfies CompareFile);
  return dir;
}

export function readCompareFile(dir: string): CompareFile {
  const file = join(dir, COMPARE_FILE);
  if (!existsSync(file)) throw new RunDirError(dir, `not a compare directory (no ${COMPARE_FILE})`);
  return JSON.parse(readFileSync(file, 'utf8')) as CompareFile;
}

export type RunState = 'finished' | 'failed' | 'resume' | 'new';

export interface PlannedRun {
  rule: string;
  seed: number;
  dir: string;
  state: RunState;
}

export function runDirName(rule: string, seed: number): string {
  return `${rule}-s${seed}`;
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Which runs are done, which can resume from a checkpoint, which start afresh. */
export function planRuns(dir: string, fp: Fingerprint): PlannedRun[] {
  const out: PlannedRun[] = [];
  for (const rule of fp.rules) {
    for (const seed of fp.seeds) {
      const runDir = join(dir, runDirName(rule, seed));
      const summary = readJson<{ status?: string; steps?: number; totalSteps?: number }>(join(runDir, 'summary.json'));
      let state: RunState = 'new';
      if (summary?.status === 'finished') state = 'finished';
      else if (summary?.status === 'failed') state = 'failed';
      else if (existsSync(join(runDir, 'checkpoint', 'state.json')) || existsSync(join(runDir, 'checkpoint.old', 'state.json'))) state = 'resume';
      else if (existsSync(runDir)) rmSync(runDir, { recursive: true, force: true });
      out.push({ rule, seed, dir: runDir, state });
    }
  }
  return out;
}

export interface Stat {
  mean: number;
  std: number;
  n: number;
}

/** Mean and sample standard deviation (0 for one value) of the finite values. */
export function stat(values: number[]): Stat {
  const v = values.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (!n) return { mean: NaN, std: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

export interface RunResult {
  rule: string;
  seed: number;
  dir: string;
  status: 'finished' | 'failed' | 'interrupted' | 'missing';
  error?: string;
  testAccuracy: number;
  bestTestAccuracy: number;
  trainAccuracy: number;
  testLoss: number;
  /** Normalized error on the test split (regression tasks; NaN otherwise). */
  testNmse: number;
  secPerEpoch: number;
  /** Wall time of the run, summed over its resumes. */
  wallSec: number;
  backend?: string;
  /** Final update-vs-backprop angle per layer, degrees. */
  angles: Record<string, number>;
  /** Mean final angle over the hidden layers (all but the output layer). */
  hiddenAngle: number;
  evals: EvalRecord[];
  diags: DiagRecord[];
}

export interface RuleResult {
  rule: string;
  finished: number;
  failed: number;
  testAccuracy: Stat;
  bestTestAccuracy: Stat;
  trainAccuracy: Stat;
  testNmse: Stat;
  secPerEpoch: Stat;
  hiddenAngle: Stat;
  angles: Record<string, Stat>;
}

export interface ComparisonResults {
  dir: string;
  command: string;
  rules: RuleResult[];
  runs: RunResult[];
}

function readRecords(path: string): { evals: EvalRecord[]; diags: DiagRecord[] } {
  const evals: EvalRecord[] = [];
  const diags: DiagRecord[] = [];
  if (!existsSync(path)) return { evals, diags };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { type: string };
    if (r.type === 'eval') evals.push(r as EvalRecord);
    else if (r.type === 'diag') diags.push(r as DiagRecord);
  }
  return { evals, diags };
}

export function collectResults(dir: string): ComparisonResults {
  const file = readCompareFile(dir);
  const runs: RunResult[] = [];
  for (const rule of file.fingerprint.rules) {
    for (const seed of file.fingerprint.seeds) {
      const runDir = join(dir, runDirName(rule, seed));
      const summary = readJson<RunSummary & { status: string; error?: string }>(join(runDir, 'summary.json'));
      const { evals, diags } = readRecords(join(runDir, 'metrics.jsonl'));
      const layers = summary?.alignment?.layers ?? {};
      const names = Object.keys(layers);
      const angles = Object.fromEntries(names.map((l) => [l, layers[l]!.updateAngle]));
      const hidden = names.slice(0, -1).map((l) => layers[l]!.updateAngle);
      const finished = summary?.status === 'finished';
      runs.push({
        rule,
        seed,
        dir: runDir,
        status: (summary?.status as RunResult['status']) ?? 'missing',
        ...(summary?.error ? { error: summary.error } : {}),
        testAccuracy: finished ? summary!.final.test.accuracy : NaN,
        bestTestAccuracy: finished ? summary!.best.test.accuracy : NaN,
        trainAccuracy: finished ? (summary!.final.train?.accuracy ?? NaN) : NaN,
        testLoss: finished ? summary!.final.test.loss : NaN,
        testNmse: finished ? (summary!.final.test.nmse ?? NaN) : NaN,
        secPerEpoch: finished ? summary!.secPerEpoch : NaN,
        wallSec: finished ? summary!.wallSec : NaN,
        ...(summary?.backend ? { backend: summary.backend } : {}),
        angles: finished ? angles : {},
        hiddenAngle: finished ? stat(hidden).mean : NaN,
        evals,
        diags,
      });
    }
  }
  const rules: RuleResult[] = file.fingerprint.rules.map((rule) => {
    const mine = runs.filter((r) => r.rule === rule && r.status === 'finished');
    const layerNames = [...new Set(mine.flatMap((r) => Object.keys(r.angles)))];
    return {
      rule,
      finished: mine.length,
      failed: runs.filter((r) => r.rule === rule && r.status === 'failed').length,
      testAccuracy: stat(mine.map((r) => r.testAccuracy)),
      bestTestAccuracy: stat(mine.map((r) => r.bestTestAccuracy)),
      trainAccuracy: stat(mine.map((r) => r.trainAccuracy)),
      testNmse: stat(mine.map((r) => r.testNmse)),
      secPerEpoch: stat(mine.map((r) => r.secPerEpoch)),
      hiddenAngle: stat(mine.map((r) => r.hiddenAngle)),
      angles: Object.fromEntries(layerNames.map((l) => [l, stat(mine.map((r) => r.angles[l] ?? NaN))])),
    };
  });
  return { dir, command: file.command, rules, runs };
}

const CSV_COLUMNS = ['rule', 'seed', 'status', 'test_accuracy', 'best_test_accuracy', 'train_accuracy', 'test_loss', 'test_nmse', 'sec_per_epoch', 'hidden_angle_deg'] as const;

/** One row per run; the final update-vs-backprop angle of each layer as `angle_<layer>_deg`. */
export function resultsCsv(results: ComparisonResults): string {
  const layers = [...new Set(results.runs.flatMap((r) => Object.keys(r.angles)))];
  const header = [...CSV_COLUMNS, ...layers.map((l) => `angle_${l}_deg`)];
  const cell = (v: number | string) => (typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const rows = results.runs.map((r) =>
    [r.rule, r.seed, r.status, r.testAccuracy, r.bestTestAccuracy, r.trainAccuracy, r.testLoss, r.testNmse, r.secPerEpoch, r.hiddenAngle, ...layers.map((l) => r.angles[l] ?? NaN)].map(cell).join(','),
  );
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

/** The machine-readable summary: per-rule statistics and per-run numbers (curves left out). */
export function resultsJson(results: ComparisonResults): object {
  return {
    dir: results.dir,
    command: results.command,
    rules: Object.fromEntries(results.rules.map(({ rule, ...rest }) => [rule, rest])),
    runs: results.runs.map(({ evals: _e, diags: _d, ...rest }) => rest),
  };
}
