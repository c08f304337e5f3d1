/**
 * Trial-based tasks for recurrent networks, in neurogym's vocabulary: a trial is
 * a sequence of periods (fixation, stimulus, delay, decision, …) with durations
 * in ms, named input and output channels, a target and a loss mask per time
 * step. `taskDataset` turns a task into a Dataset whose examples are trials of
 * `--trials` (train) and `--test-trials` (test) generated on demand: trial i of a
 * split is drawn from the stream `<task>/<split>/<i>`, so the same index is the
 * same trial for every run, rule and seed. Trials shorter than the longest one a
 * task can produce are padded, with mask 0 on the padding.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../src/errors.js';
import { option, parse, type OptionSpec, type OptionsOf } from '../../src/options.js';
import { Rng } from '../../src/rng.js';
import type { Batch, Dataset, DatasetEntry, LossKind, ResolvedOptions, Split } from '../../src/types.js';

/** One trial, row-major over time: inputs [steps × inputs], targets [steps × outputs], mask [steps], hints [steps × hints]. */
export interface Trial {
  steps: number;
  inputs: Float32Array;
  targets: Float32Array;
  mask: Float32Array;
  /** Tasks with hint channels: what a target-generating network is given besides the target (full-FORCE). */
  hints?: Float32Array;
  /** Period name → [first step, end step) (for plots and tests). */
  periods: Record<string, [number, number]>;
}

/** A task; `O` is the type of its resolved options (ResolvedOptions once registered, typed in its own file through defineTask). */
export interface TaskDefinition<O = ResolvedOptions> {
  name: string;
  description: string;
  reference: string;
  inputs: string[];
  outputs: string[];
  /** `mse-decision`: accuracy of the sign of the response; `mse`: normalized error only; `sequence-ce`: class at the masked steps. */
  loss: LossKind;
  defaultDtMs: number;
  /** Default --trials and --test-trials (2048 and 256): tasks whose trials are all alike need few. */
  defaultTrials?: { train: number; test: number };
  /** Task-specific options (beyond --dt, --trials, --test-trials). */
  options: readonly OptionSpec[];
  /** Outputs and loss when an option changes them (e.g. a softmax readout); default `outputs` and `loss`. */
  readout?(opts: O): { outputs: string[]; loss: LossKind };
  /** Hint channels for these options (none when absent). */
  hints?(opts: O): string[];
  /** Task measures of a model's output rows [steps × outputs] on a trial (Dataset.trialMetrics). */
  metrics?(output: Float32Array, trial: Trial, opts: O, dtMs: number): Record<string, number>;
  /** The longest trial, in steps, for these options. */
  maxSteps(opts: O, dtMs: number): number;
  /** Example i of the task's split (data-backed tasks: the source's example i). */
  trial(rng: Rng, opts: O, dtMs: number, example?: SourceExample): Trial;
  /**
   * Data-backed tasks (sequential MNIST) read their trials from a labelled
   * dataset: the split sizes are the source's, and --trials/--test-trials do not apply.
   */
  source?(opts: O, dtMs: number): Promise<TaskSource>;
}

/** A task defined with typed options: its functions receive them as OptionsOf its specs. */
/** Steps of consecutive periods at dt, each at least one step; an optional period of 0 ms (`optional`) has none. */
export function periodSteps(dt: number, periods: readonly number[], optional: readonly number[] = []): number {
  return [...periods, ...optional.filter((ms) => ms > 0)].reduce((n, ms) => n + Math.max(1, Math.round(ms / dt)), 0);
}

export function defineTask<const S extends readonly OptionSpec[]>(def: Omit<TaskDefinition<OptionsOf<S>>, 'options'> & { options: S }): TaskDefinition {
  // The one place a task's resolved options meet their static type (resolveOptions filled every key).
  const typed = (o: ResolvedOptions) => o as OptionsOf<S>;
  return {
    ...def,
    readout: def.readout ? (o) => def.readout!(typed(o)) : undefined,
    hints: def.hints ? (o) => def.hints!(typed(o)) : undefined,
    metrics: def.metrics ? (output, trial, o, dt) => def.metrics!(output, trial, typed(o), dt) : undefined,
    maxSteps: (o, dt) => def.maxSteps(typed(o), dt),
    trial: (rng, o, dt, example) => def.trial(rng, typed(o), dt, example),
    source: def.source ? (o, dt) => def.source!(typed(o), dt) : undefined,
  };
}

export interface SourceExample {
  values: Float32Array;
  label: number;
}

export interface TaskSource {
  size(split: Split): number;
  example(split: Split, index: number): SourceExample;
}

/** Builds trials period by period: `period('delay', 500)` advances the clock by 500 ms. */
export class TrialBuilder {
  readonly periods: Record<string, [number, number]> = {};
  private readonly rows: { inputs: number[]; targets: number[]; mask: number; hints: number[] }[] = [];

  constructor(
    private readonly nIn: number,
    private readonly nOut: number,
    private readonly dtMs: number,
    private readonly nHints = 0,
  ) {}

  /** Steps a duration takes (at least one). */
  steps(ms: number): number {
    return Math.max(1, Math.round(ms / this.dtMs));
  }

  /** Appends a period of `ms`; `fill(k, n)` gives the inputs, target, mask and hints at its k-th of n steps. */
  period(name: string, ms: number, fill: (k: number, n: number) => { inputs?: number[]; targets?: number[]; mask?: number; hints?: number[] }): void {
    const n = this.steps(ms);
    const start = this.rows.length;
    for (let k = 0; k < n; k++) {
      const f = fill(k, n);
      this.rows.push({
        inputs: f.inputs ?? new Array(this.nIn).fill(0),
        targets: f.targets ?? new Array(this.nOut).fill(0),
        mask: f.mask ?? 0,
        hints: f.hints ?? new Array(this.nHints).fill(0),
      });
    }
    this.periods[name] = [start, start + n];
  }

  build(): Trial {
    const steps = this.rows.length;
    const inputs = new Float32Array(steps * this.nIn);
    const targets = new Float32Array(steps * this.nOut);
    const mask = new Float32Array(steps);
    const hints = new Float32Array(steps * this.nHints);
    this.rows.forEach((r, t) => {
      inputs.set(r.inputs, t * this.nIn);
      targets.set(r.targets, t * this.nOut);
      mask[t] = r.mask;
      hints.set(r.hints, t * this.nHints);
    });
    return { steps, inputs, targets, mask, periods: this.periods, ...(this.nHints ? { hints } : {}) };
  }
}

export const commonTaskOptions = (defaultDtMs: number, trials = { train: 2048, test: 256 }): OptionSpec[] => [
  option('dt', '--dt <ms>', 'time step in ms', defaultDtMs, parse.positiveNumber),
  option('trials', '--trials <n>', 'training trials (one epoch)', trials.train, parse.positiveInt),
  option('testTrials', '--test-trials <n>', 'test trials', trials.test, parse.positiveInt),
];

export class TaskDataset implements Dataset {
  readonly inputShape: number[];
  readonly outputSize: number;
  readonly loss: LossKind;
  readonly dtMs: number;
  readonly maxSteps: number;
  readonly hintSize: number;

  constructor(
    readonly task: TaskDefinition,
    readonly options: ResolvedOptions,
    private readonly source?: TaskSource,
  ) {
    this.dtMs = options['dt'] as number;
    this.maxSteps = task.maxSteps(options, this.dtMs);
    this.inputShape = [this.maxSteps, task.inputs.length];
    const readout = task.readout?.(options) ?? { outputs: task.outputs, loss: task.loss };
    this.outputSize = readout.outputs.length;
    this.loss = readout.loss;
    this.hintSize = task.hints?.(options).length ?? 0;
    // Only a task with measures has them: evaluation reads its outputs back for them.
    const metrics = task.metrics;
    if (metrics) this.trialMetrics = (split, index, output) => metrics(output, this.trial(split, index), this.options, this.dtMs);
  }

  readonly trialMetrics?: (split: Split, index: number, output: Float32Array) => Record<string, number>;

  get name(): string {
    return this.task.name;
  }

  size(split: Split): number {
    if (this.source) return this.source.size(split);
    if (split === 'train') return this.options['trials'] as number;
    if (split === 'test') return this.options['testTrials'] as number;
    return 0;
  }

  /** Trial `index` of `split` (the same for every run). */
  trial(split: Split, index: number): Trial {
    if (index < 0 || index >= this.size(split)) throw new UsageError(`${this.name}: no ${split} trial ${index} (the split has ${this.size(split)})`);
    return this.task.trial(new Rng(`${this.name}/${split}/${index}`), this.options, this.dtMs, this.source?.example(split, index));
  }

  batch(split: Split, indices: ArrayLike<number>): Batch {
    const b = indices.length;
    const [T, nIn] = [this.maxSteps, this.task.inputs.length];
    const nOut = this.outputSize;
    const x = new Float32Array(b * T * nIn);
    const y = new Float32Array(b * T * nOut);
    const mask = new Float32Array(b * T);
    const nHints = this.hintSize;
    const hints = new Float32Array(b * T * nHints);
    const steps = new Int32Array(b);
    for (let i = 0; i < b; i++) {
      const tr = this.trial(split, indices[i]!);
      if (tr.steps > T) throw new Error(`${this.name}: a trial of ${tr.steps} steps exceeds maxSteps ${T}`);
      steps[i] = tr.steps;
      x.set(tr.inputs, i * T * nIn);
      y.set(tr.targets, i * T * nOut);
      mask.set(tr.mask, i * T);
      if (tr.hints) hints.set(tr.hints, i * T * nHints);
    }
    return {
      x: tf.tensor3d(x, [b, T, nIn]),
      y: tf.tensor3d(y, [b, T, nOut]),
      mask: tf.tensor2d(mask, [b, T]),
      steps,
      ...(nHints ? { hints: tf.tensor3d(hints, [b, T, nHints]) } : {}),
      size: b,
    };
  }
}

/** The registry entry of a task (registered in the `tasks` registry). */
export function taskEntry(task: TaskDefinition): DatasetEntry {
  return {
    name: task.name,
    description: task.description,
    reference: task.reference,
    options: [...commonTaskOptions(task.defaultDtMs, task.defaultTrials).filter((o) => !task.source || o.key === 'dt'), ...task.options],
    load: async (opts) => new TaskDataset(task, opts, task.source ? await task.source(opts, opts['dt'] as number) : undefined),
  };
}
