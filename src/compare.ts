/**
 * Comparisons: every rule × swept option values × seed as its own run directory
 * under one compare directory. This module plans a comparison (which runs are
 * finished, which to resume, which are prepared or new), guards the directory
 * against a different command, and aggregates the runs' results by group; the
 * CLI runs the workers.
 *
 * A group is a rule with one combination of the swept values (`--grid`); it is
 * labelled `<rule>` or `<rule>-<option>=<value>…`, and its runs live in
 * `<label>-s<seed>`. Without a sweep the labels are the rule names, as they
 * always were, so older compare directories keep their names and resume.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { atomicWriteJson } from './checkpoint.js';
import type { RunConfig } from './config.js';
import { RunDirError, UsageError } from './errors.js';
import { LOCK_FILE } from './lock.js';
import type { OptionValue } from './options.js';
import { datasets, models, rules, tasks } from './registries.js';
import { currentOptions } from './run.js';
import type { DiagRecord, EvalRecord, RunSummary } from './trainer.js';

type Settings = Omit<RunConfig, 'seed' | 'backend' | 'biocredit'>;

/** What makes two compare commands the same: every resolved setting except seed and backend. */
export interface Fingerprint {
  rules: string[];
  seeds: number[];
  /** Swept options (user-facing names, e.g. `lr`, `batch-size`) and their values, in the order given; absent without a sweep. */
  grid?: Record<string, OptionValue[]>;
  /** The settings of every group, by label. */
  configs: Record<string, Settings>;
}

/** A group of runs: one rule at one combination of the swept values. */
export interface Group {
  label: string;
  rule: string;
  /** The swept values that apply to this rule, by option name. */
  values: Record<string, OptionValue>;
}

function settingsOf(c: RunConfig): Settings {
  const { seed: _s, backend: _b, biocredit: _v, ...rest } = c;
  return rest;
}

export function fingerprint(ruleNames: string[], seeds: number[], configs: Record<string, RunConfig>, grid?: Record<string, OptionValue[]>): Fingerprint {
  return { rules: ruleNames, seeds, ...(grid ? { grid } : {}), configs: Object.fromEntries(Object.entries(configs).map(([label, c]) => [label, settingsOf(c)])) };
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

/**
 * The fingerprint as the current code resolves its settings: options added to
 * a rule, model or dataset since the comparison was made read as their
 * defaults, so an older comparison still matches the same command.
 */
export function normalized(fp: Fingerprint): Fingerprint {
  const resolve = (c: Settings): Settings => {
    const data = (c.dataset.kind === 'task' ? tasks : datasets).has(c.dataset.name) ? (c.dataset.kind === 'task' ? tasks : datasets).get(c.dataset.name) : null;
    return {
      ...c,
      dataset: data ? { ...c.dataset, options: currentOptions(`dataset ${c.dataset.name}`, data, c.dataset) } : c.dataset,
      model: models.has(c.model.name) ? { ...c.model, options: currentOptions(`model ${c.model.name}`, models.get(c.model.name), c.model) } : c.model,
      rule: rules.has(c.rule.name) ? { ...c.rule, options: currentOptions(`rule ${c.rule.name}`, rules.get(c.rule.name), c.rule) } : c.rule,
    };
  };
  return { ...fp, configs: Object.fromEntries(Object.entries(fp.configs).map(([k, c]) => [k, resolve(c)])) };
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

function fingerprintDifference(old: Fingerprint, fp: Fingerprint): string | null {
  const a = normalized(old);
  return (
    firstDifference(a.rules, fp.rules, 'rules') ??
    firstDifference(a.seeds, fp.seeds, 'seeds') ??
    firstDifference(a.grid ?? {}, fp.grid ?? {}, 'grid') ??
    firstDifference(a.configs, fp.configs, 'configs')
  );
}

export interface CompareFile {
  format: 'biocredit-compare';
  version: 1;
  fingerprint: Fingerprint;
  command: string;
  /** Every group's rule and swept values (absent in comparisons made before sweeps: the groups are the rules). */
  groups?: Group[];
}

export const COMPARE_FILE = 'compare.json';

/** The groups of a compare file, in order. */
export function groupsOf(file: CompareFile): Group[] {
  return file.groups ?? file.fingerprint.rules.map((rule) => ({ label: rule, rule, values: {} }));
}

function readCompare(file: string): CompareFile | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CompareFile;
  } catch {
    return null;
  }
}

/**
 * runs/compare-<model>-<dataset>-<hash of the settings>, or an existing compare
 * directory there whose settings are the same (made before options were added).
 */
export function defaultCompareDir(fp: Fingerprint): string {
  const c = Object.values(fp.configs)[0]!;
  const dir = join('runs', `compare-${c.model.name}-${c.dataset.name}-${fingerprintHash(fp)}`);
  const parent = dirname(dir);
  if (existsSync(dir) || !existsSync(parent)) return dir;
  const prefix = `compare-${c.model.name}-${c.dataset.name}-`;
  for (const name of readdirSync(parent).filter((n) => n.startsWith(prefix)).sort()) {
    const old = readCompare(join(parent, name, COMPARE_FILE));
    if (old && !fingerprintDifference(old.fingerprint, fp)) return join(parent, name);
  }
  return dir;
}

/** Creates the compare directory, or checks that an existing one was made by the same command. */
export function openCompareDir(dir: string, fp: Fingerprint, command: string, groups: Group[]): string {
  dir = resolve(dir);
  const file = join(dir, COMPARE_FILE);
  if (existsSync(file)) {
    const existing = readCompare(file);
    if (!existing) throw new RunDirError(dir, `${COMPARE_FILE} is not valid JSON`);
    const diff = fingerprintDifference(existing.fingerprint, fp);
    if (diff) {
      throw new UsageError(
        `--out ${dir} holds a comparison made by a different command (${diff}); its runs would not be comparable with these — choose another --out`,
      );
    }
    return dir;
  }
  if (existsSync(dir) && readdirSync(dir).some((f) => f !== LOCK_FILE)) {
    throw new UsageError(`--out ${dir} exists, is not empty and holds no ${COMPARE_FILE}; choose another --out`);
  }
  const grid = fp.grid ? { groups } : {};
  atomicWriteJson(file, { format: 'biocredit-compare', version: 1, fingerprint: fp, command, ...grid } satisfies CompareFile);
  return dir;
}

export function readCompareFile(dir: string): CompareFile {
  const file = join(dir, COMPARE_FILE);
  if (!existsSync(file)) throw new RunDirError(dir, `not a compare directory (no ${COMPARE_FILE})`);
  const f = readCompare(file);
  if (!f) throw new RunDirError(dir, `${COMPARE_FILE} is not valid JSON`);
  return f;
}

/** A value as it appears in a group label and a run directory's name. */
export function formatValue(v: OptionValue): string {
  const s = Array.isArray(v) ? v.join('x') : v === null ? 'none' : String(v);
  return s.replace(/[^A-Za-z0-9._+-]/g, '_');
}

/** `<rule>` or `<rule>-<option>=<value>…`. */
export function groupLabel(rule: string, values: Record<string, OptionValue>): string {
  return [rule, ...Object.entries(values).map(([k, v]) => `${k}=${formatValue(v)}`)].join('-');
}

/** finished · failed · resume (from its checkpoint) · prepared (config.json only) · new. */
export type RunState = 'finished' | 'failed' | 'resume' | 'prepared' | 'new';

export interface PlannedRun {
  group: string;
  rule: string;
  seed: number;
  dir: string;
  state: RunState;
}

export function runDirName(group: string, seed: number): string {
  return `${group}-s${seed}`;
}

/** A JSON file's contents, or null when it is missing or not valid JSON. */
export function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The runs of a comparison, group by group, with their directories. */
export function runsOf(dir: string, groups: Group[], seeds: number[]): { group: string; rule: string; seed: number; dir: string }[] {
  return groups.flatMap((g) => seeds.map((seed) => ({ group: g.label, rule: g.rule, seed, dir: join(dir, runDirName(g.label, seed)) })));
}

/** Which runs are done, which can resume from a checkpoint, which are prepared, which start afresh. */
export function planRuns(dir: string, groups: Group[], seeds: number[]): PlannedRun[] {
  return runsOf(dir, groups, seeds).map((run) => {
    const summary = readJson<{ status?: string }>(join(run.dir, 'summary.json'));
    let state: RunState = 'new';
    if (summary?.status === 'finished' || summary?.status === 'diverged') state = 'finished';
    else if (summary?.status === 'failed') state = 'failed';
    else if (existsSync(join(run.dir, 'checkpoint', 'state.json')) || existsSync(join(run.dir, 'checkpoint.old', 'state.json'))) state = 'resume';
    else if (existsSync(join(run.dir, 'config.json'))) state = 'prepared';
    else if (existsSync(run.dir)) rmSync(run.dir, { recursive: true, force: true });
    return { ...run, state };
  });
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
  group: string;
  rule: string;
  /** The swept values of the run's group. */
  values: Record<string, OptionValue>;
  seed: number;
  dir: string;
  status: 'finished' | 'diverged' | 'failed' | 'interrupted' | 'missing';
  error?: string;
  testAccuracy: number;
  bestTestAccuracy: number;
  trainAccuracy: number;
  testLoss: number;
  /** Normalized error on the test split (regression tasks; NaN otherwise). */
  testNmse: number;
  testMae: number;
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

export interface GroupResult {
  group: string;
  rule: string;
  values: Record<string, OptionValue>;
  finished: number;
  /** Runs that ran to the end with a test loss orders of magnitude above their initial one: left out of the statistics. */
  diverged: number;
  failed: number;
  testLoss: Stat;
  testAccuracy: Stat;
  bestTestAccuracy: Stat;
  trainAccuracy: Stat;
  testNmse: Stat;
  testMae: Stat;
  secPerEpoch: Stat;
  hiddenAngle: Stat;
  angles: Record<string, Stat>;
}

export interface ComparisonResults {
  dir: string;
  command: string;
  model?: string;
  dataset?: string;
  /** The swept option names (empty without a sweep). */
  grid: string[];
  groups: GroupResult[];
  runs: RunResult[];
}

function readRecords(path: string): { evals: EvalRecord[]; diags: DiagRecord[] } {
  const evals: EvalRecord[] = [];
  const diags: DiagRecord[] = [];
  if (!existsSync(path)) return { evals, diags };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let r: { type: string };
    try {
      r = JSON.parse(line) as { type: string };
    } catch {
      // A run killed mid-write leaves a torn last line (resume drops it).
      continue;
    }
    if (r.type === 'eval') evals.push(r as EvalRecord);
    else if (r.type === 'diag') diags.push(r as DiagRecord);
  }
  return { evals, diags };
}

/** A run's best test accuracy (NaN for regression runs), from a summary of this version or an older one. */
function bestAccuracy(summary: RunSummary): number {
  const best = summary.best as { metric?: string; test: { value?: number; accuracy?: number } };
  if (best.metric === undefined) return best.test.accuracy ?? NaN;
  return best.metric === 'accuracy' ? (best.test.value ?? NaN) : NaN;
}

/** What a run directory holds, as the tables and figures read it (numbers NaN until the run ran to its end). */
export function runResult(runDir: string, group: string, rule: string, values: Record<string, OptionValue>, seed: number): RunResult {
  const summary = readJson<RunSummary & { status: string; error?: string }>(join(runDir, 'summary.json'));
  const { evals, diags } = readRecords(join(runDir, 'metrics.jsonl'));
  const layers = summary?.alignment?.layers ?? {};
  const names = Object.keys(layers);
  const angles = Object.fromEntries(names.map((l) => [l, layers[l]!.updateAngle]));
  const hidden = names.slice(0, -1).map((l) => layers[l]!.updateAngle);
  // A diverged run ran to the end: its numbers are recorded, and counted apart from the finished ones.
  const finished = summary?.status === 'finished' || summary?.status === 'diverged';
  return {
    group,
    rule,
    values,
    seed,
    dir: runDir,
    status: (summary?.status as RunResult['status']) ?? 'missing',
    ...(summary?.error ? { error: summary.error } : {}),
    testAccuracy: finished ? summary!.final.test.accuracy : NaN,
    bestTestAccuracy: finished ? bestAccuracy(summary!) : NaN,
    trainAccuracy: finished ? (summary!.final.train?.accuracy ?? NaN) : NaN,
    testLoss: finished ? summary!.final.test.loss : NaN,
    testNmse: finished ? (summary!.final.test.nmse ?? NaN) : NaN,
    testMae: finished ? (summary!.final.test.mae ?? NaN) : NaN,
    secPerEpoch: finished ? summary!.secPerEpoch : NaN,
    wallSec: finished ? summary!.wallSec : NaN,
    ...(summary?.backend ? { backend: summary.backend } : {}),
    angles: finished ? angles : {},
    hiddenAngle: finished ? stat(hidden).mean : NaN,
    evals,
    diags,
  };
}

export function collectResults(dir: string): ComparisonResults {
  const file = readCompareFile(dir);
  const groups = groupsOf(file);
  const runs: RunResult[] = [];
  for (const g of groups) {
    for (const seed of file.fingerprint.seeds) runs.push(runResult(join(dir, runDirName(g.label, seed)), g.label, g.rule, g.values, seed));
  }
  const results: GroupResult[] = groups.map((g) => {
    const mine = runs.filter((r) => r.group === g.label && r.status === 'finished');
    const layerNames = [...new Set(mine.flatMap((r) => Object.keys(r.angles)))];
    return {
      group: g.label,
      rule: g.rule,
      values: g.values,
      finished: mine.length,
      diverged: runs.filter((r) => r.group === g.label && r.status === 'diverged').length,
      failed: runs.filter((r) => r.group === g.label && r.status === 'failed').length,
      testLoss: stat(mine.map((r) => r.testLoss)),
      testAccuracy: stat(mine.map((r) => r.testAccuracy)),
      bestTestAccuracy: stat(mine.map((r) => r.bestTestAccuracy)),
      trainAccuracy: stat(mine.map((r) => r.trainAccuracy)),
      testNmse: stat(mine.map((r) => r.testNmse)),
      testMae: stat(mine.map((r) => r.testMae)),
      secPerEpoch: stat(mine.map((r) => r.secPerEpoch)),
      hiddenAngle: stat(mine.map((r) => r.hiddenAngle)),
      angles: Object.fromEntries(layerNames.map((l) => [l, stat(mine.map((r) => r.angles[l] ?? NaN))])),
    };
  });
  const first = Object.values(file.fingerprint.configs)[0];
  return { dir, command: file.command, ...(first ? { model: first.model.name, dataset: first.dataset.name } : {}), grid: Object.keys(file.fingerprint.grid ?? {}), groups: results, runs };
}

const CSV_COLUMNS = ['seed', 'status', 'test_accuracy', 'best_test_accuracy', 'train_accuracy', 'test_loss', 'test_nmse', 'test_mae', 'sec_per_epoch', 'hidden_angle_deg'] as const;

const csvCell = (v: number | string) => (typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** A swept value for tables and CSV: lists comma-separated, null as none, '' where the option does not apply. */
export function displayValue(v: OptionValue | undefined): string {
  if (v === undefined) return '';
  if (v === null) return 'none';
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** One row per run: rule, one column per swept option, the results, and the final angle of each layer as `angle_<layer>_deg`. */
export function resultsCsv(results: ComparisonResults): string {
  const layers = [...new Set(results.runs.flatMap((r) => Object.keys(r.angles)))];
  const header = ['rule', ...results.grid, ...CSV_COLUMNS, ...layers.map((l) => `angle_${l}_deg`)];
  const rows = results.runs.map((r) =>
    [
      csvCell(r.rule),
      ...results.grid.map((k) => csvCell(displayValue(r.values[k]))),
      ...[r.seed, r.status, r.testAccuracy, r.bestTestAccuracy, r.trainAccuracy, r.testLoss, r.testNmse, r.testMae, r.secPerEpoch, r.hiddenAngle, ...layers.map((l) => r.angles[l] ?? NaN)].map(csvCell),
    ].join(','),
  );
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

/** The machine-readable summary: per-group statistics and per-run numbers (curves left out). */
export function resultsJson(results: ComparisonResults): object {
  return {
    dir: results.dir,
    command: results.command,
    grid: results.grid,
    groups: Object.fromEntries(results.groups.map(({ group, ...rest }) => [group, rest])),
    runs: results.runs.map(({ evals: _e, diags: _d, ...rest }) => rest),
  };
}

