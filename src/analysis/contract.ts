/**
 * The analysis contract. One registry (`analyses`) serves both places analyses
 * run: during training (`--analyze NAME --analyze-every N`, a cheap `measure` on
 * the live parameters, written to metrics.jsonl) and after it (`biocredit
 * analyze RUN`, a full `run` on the last checkpoint, stored in analysis.json).
 * Each analysis declares its options (the CLI builds flags and help from them),
 * what it requires of the model, its table columns and its figures, so adding
 * one touches its own file and one registration line.
 */
import type * as vl from 'vega-lite';
import type { OptionSpec, OptionsOf } from '../options.js';
import type { Rng } from '../rng.js';
import type { Capability, Dataset, Model, Params, RegistryItem, ResolvedOptions } from '../types.js';

export type Spec = vl.TopLevelSpec;

/** A figure of a page: its caption and its vega-lite spec. */
export interface Figure {
  title: string;
  spec: Spec;
}

/** What an analysis recorded during training sees. */
export interface MeasureContext {
  model: Model;
  params: Params;
  dataset: Dataset;
  /** The first `points` examples of a split are used (file order). */
  points: number;
  /** The trainable parameters the curvature measures differentiate by (--analyze-params; all when absent). */
  paramNames: string[];
  /** Hessian-vector products for a recorded Hessian trace (--analyze-trace; 0: no trace). */
  traceProbes: number;
  /** A stream derived from the run seed and the step. */
  rng: Rng;
}

/** An analysis record in metrics.jsonl. */
export interface AnalysisRecord {
  type: 'analysis';
  step: number;
  epoch: number;
  /** Named numbers from each measure (lambdaMax, lossGap, samSharpness, …) and the time they took (`sec`). */
  [name: string]: number | boolean | string;
}

/** What an analysis of a trained run sees: the checkpoint, the step-0 parameters when saved, the run's directory. */
export interface AnalyzeContext {
  runDir: string;
  model: Model;
  dataset: Dataset;
  params: Params;
  init: Params | null;
  /** Evaluation batch size of the run (config.json). */
  evalBatchSize: number;
  /** A fresh stream `analyze/<seed>` for each analysis: its numbers do not depend on which other analyses ran before it. */
  rng: Rng;
  progress(phase: string): void;
}

/** How one stored result was computed. */
export interface Measure {
  options: ResolvedOptions;
  date: string;
  backend: string;
  sec: number;
}

/** A trained run's analyses as stored in analysis.json: each result under its analysis' key. */
export interface RunAnalysis {
  runDir: string;
  rule: string;
  /** The run's label in a comparison: its rule, plus the values of the options a sweep varies. */
  group: string;
  model: string;
  dataset: string;
  seed: number;
  /** The checkpoint step every stored result was computed at. */
  step: number;
  /** False for a run analysed before it finished (--include-unfinished). */
  finished: boolean;
  /** True for a run whose training diverged (its loss grew by orders of magnitude). */
  diverged?: boolean;
  /** How each stored result was computed, by analysis name. */
  measures: Record<string, Measure>;
  /** Wall time of the last `analyze` of the run. */
  wallSec: number;
  [key: string]: unknown;
}

/** A column of the per-group table: a number each run's result gives, mean ± std over seeds. */
export interface Column {
  key: string;
  title: string;
  digits: number;
  scale?: number;
}

/** A run's training-time records, for figures over training. */
export interface RecordedRun {
  group: string;
  seed: number;
  records: AnalysisRecord[];
}

/**
 * How `biocredit analyze` turns an analysis on: `opt-in` when its flag is given;
 * `default` also when no opt-in analysis is chosen; `always` unless --no-<name>.
 */
export type Selection = 'opt-in' | 'default' | 'always';

export interface AnalysisEntry extends RegistryItem {
  /** Capabilities the model must provide (checked before any work). */
  requires?: readonly Capability[];
  /** Key of the result in analysis.json (camelCase of the name). */
  key: string;
  selection?: Selection;
  /**
   * The key of the option whose flag turns the analysis on and gives a value
   * with it (`--hessian <measures>`); absent: a flag `--<name>` alone.
   */
  selector?: string;
  /** Further checks of a run before any work (UsageError). */
  check?(model: Model, dataset: Dataset, options: ResolvedOptions): void;
  /** After training, on a run's checkpoint. */
  run?(ctx: AnalyzeContext, options: ResolvedOptions): unknown;
  /** During training (`--analyze NAME`): named numbers on the live parameters. */
  measure?(ctx: MeasureContext): Record<string, number | boolean>;
  /** Table columns and the numbers of one result. */
  columns?: readonly Column[];
  numbers?(result: unknown): Record<string, number>;
  /** The result as the summary on stdout shows it (e.g. without long curves); default: whole. */
  brief?(result: unknown): unknown;
  /** One run's result as text after the table (e.g. a table of predictors). */
  text?(analysis: RunAnalysis, result: unknown, labelled: boolean): string | null;
  /** One sentence on how the numbers were computed, for the terminal and the page. */
  setting?(analysis: RunAnalysis, result: unknown, options: ResolvedOptions): string | null;
  /** Figures of analysis.html from every run's result. */
  figures?(runs: RunAnalysis[], groups: string[]): Figure[];
  /** A figure over training from the records `measure` wrote (analysis.html and the comparison report). */
  overTraining?(runs: RecordedRun[], groups: string[]): Figure | null;
}

/** An analysis whose `run`, `check`, `setting` and `numbers` receive typed options and its own result type. */
export interface AnalysisDefinition<S extends readonly OptionSpec[], R> extends Omit<AnalysisEntry, 'options' | 'run' | 'check' | 'numbers' | 'brief' | 'text' | 'setting' | 'figures'> {
  options?: S;
  check?(model: Model, dataset: Dataset, options: OptionsOf<S>): void;
  run?(ctx: AnalyzeContext, options: OptionsOf<S>): R;
  numbers?(result: R): Record<string, number>;
  brief?(result: R): unknown;
  text?(analysis: RunAnalysis, result: R, labelled: boolean): string | null;
  setting?(analysis: RunAnalysis, result: R, options: OptionsOf<S>): string | null;
  figures?(runs: { analysis: RunAnalysis; result: R }[], groups: string[]): Figure[];
}

/** Defines an analysis with typed options and result; the one place both meet the untyped registry. */
export function defineAnalysis<const S extends readonly OptionSpec[] = [], R = unknown>(def: AnalysisDefinition<S, R>): AnalysisEntry {
  const { options, check, run, numbers, brief, text, setting, figures, ...rest } = def;
  const o = (x: ResolvedOptions) => x as OptionsOf<S>;
  const r = (x: unknown) => x as R;
  const entry: AnalysisEntry = { ...rest, options: options ?? [] };
  if (check) entry.check = (m, d, x) => check(m, d, o(x));
  if (run) entry.run = (ctx, x) => run(ctx, o(x));
  if (numbers) entry.numbers = (x) => numbers(r(x));
  if (brief) entry.brief = (x) => brief(r(x));
  if (text) entry.text = (a, x, labelled) => text(a, r(x), labelled);
  if (setting) entry.setting = (a, x, opts) => setting(a, r(x), o(opts));
  if (figures) entry.figures = (runs, groups) => figures(runs.filter((a) => a[rest.key] !== undefined).map((a) => ({ analysis: a, result: r(a[rest.key]) })), groups);
  return entry;
}
