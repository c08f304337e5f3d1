/**
 * Run configuration: the flat spec a user gives (CLI flags or API fields) and
 * the fully resolved config stored in config.json, from which a run can be
 * rebuilt exactly (resume, analysis). The option table below is the single
 * source of the trainer's flags, their defaults and their validation.
 */
import type { BackendChoice, BackendName } from './backend.js';
import { UsageError } from './errors.js';
import { DEFAULT_LR, OPTIMIZERS, type OptimizerConfig, type OptimizerName } from './optim.js';
import { flagName, option, parse, parseFlag, resolveOptions, type OptionSpec, type OptionValue } from './options.js';
import { analyses, datasets, models, rules, tasks } from './registries.js';
import type { ModelEntry, ResolvedOptions, RuleEntry } from './types.js';
import { VERSION } from './version.js';

export interface TrainingConfig {
  /** Number of passes over the training split; null when `steps` is given. */
  epochs: number | null;
  /** Total number of updates; null when `epochs` is given. */
  steps: number | null;
  batchSize: number;
  /** Also evaluate every this many steps (0: only at the end of each epoch). */
  evalEvery: number;
  evalBatchSize: number;
  /** Also checkpoint every this many steps (0: at every evaluation). */
  checkpointEvery: number;
  /** Log the running training loss every this many steps (0: never). */
  logEvery: number;
  /** Log per-layer alignment diagnostics every this many steps and at the last step (0: never). */
  diagEvery: number;
  /** Training examples (the first n) in the final evaluation; absent: the whole training split. */
  finalTrainEval?: number;
  /** Analyses recorded during training (absent when off, so older configs read the same). */
  analysis?: { every: number; measures: string[]; points: number; params?: string; traceProbes?: number };
}

export interface ComponentConfig {
  name: string;
  options: ResolvedOptions;
  /** For the dataset: 'task' when it is a trial-based task (`--task`). */
  kind?: 'task';
}

export interface RunConfig {
  biocredit: string;
  seed: number;
  backend: BackendName;
  dataset: ComponentConfig;
  model: ComponentConfig;
  rule: ComponentConfig;
  /** Null for a rule that applies its own updates (RuleEntry.output 'update'). */
  optimizer: OptimizerConfig | null;
  training: TrainingConfig;
}

/** What a user specifies; everything is optional and has a documented default. */
export interface TrainSpec {
  seed?: number;
  backend?: BackendChoice;
  dataset?: string;
  /** A trial-based task (datasets/tasks), instead of `dataset`. */
  task?: string;
  datasetOptions?: Record<string, unknown>;
  model?: string;
  modelOptions?: Record<string, unknown>;
  rule?: string;
  ruleOptions?: Record<string, unknown>;
  optimizer?: OptimizerName;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  clipNorm?: number;
  lrDecay?: number;
  lrDecayEvery?: number;
  epochs?: number;
  steps?: number;
  batchSize?: number;
  evalEvery?: number;
  evalBatchSize?: number;
  finalTrainEval?: number;
  checkpointEvery?: number;
  logEvery?: number;
  diagEvery?: number;
  analyzeEvery?: number;
  analyze?: string[] | string;
  analyzePoints?: number;
  analyzeParams?: string | null;
  analyzeTrace?: number;
}

export type TrainKey = Exclude<keyof TrainSpec, 'backend' | 'datasetOptions' | 'modelOptions' | 'ruleOptions'>;

/** The trainer options that configure the optimizer: they do not apply to rules that make their own updates. */
export const OPTIMIZER_KEYS: readonly TrainKey[] = ['optimizer', 'lr', 'momentum', 'weightDecay', 'clipNorm', 'lrDecay', 'lrDecayEvery'];

/** A comma list of registered analyses that record during training. */
function parseAnalyses(raw: string): string[] {
  const during = analyses.entries().filter((e) => e.measure).map((e) => e.name);
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names.length) throw new Error(`must list one or more of ${during.join(', ')}`);
  for (const n of names) {
    if (!analyses.has(n)) throw new Error(`lists unknown analysis "${n}"; during training: ${during.join(', ')}`);
    if (!during.includes(n)) throw new Error(`lists ${n}, which runs after training only (biocredit analyze RUN --${n}); during training: ${during.join(', ')}`);
  }
  return names;
}

/** The trainer's own options, keyed by TrainSpec field. */
export const TRAIN_OPTIONS: Record<TrainKey, OptionSpec> = {
  seed: option('seed', '--seed <n>', 'run seed; every random stream derives from it', 0, parse.nonNegativeInt),
  dataset: option('dataset', '--dataset <name>', 'dataset (see `biocredit list`)', 'mnist', parse.string),
  task: option('task', '--task <name>', 'trial-based task for recurrent models, instead of --dataset (see `biocredit list`)', null as string | null, parse.string),
  model: option('model', '--model <name>', 'model family (see `biocredit list`)', 'mlp', parse.string),
  rule: option('rule', '--rule <name>', 'learning rule (see `biocredit list`)', 'bp', parse.string),
  optimizer: option('optimizer', '--optimizer <name>', `optimizer: ${OPTIMIZERS.join(', ')}`, 'adam', parse.choice(OPTIMIZERS)),
  lr: option('lr', '--lr <rate>', 'learning rate (default: sgd 0.1, momentum 0.01, adam 1e-3, rmsprop 1e-3)', null as number | null, parse.positiveNumber),
  momentum: option('momentum', '--momentum <m>', 'momentum coefficient of the momentum optimizer', 0.9, parse.nonNegativeNumber),
  weightDecay: option('weightDecay', '--weight-decay <λ>', 'L2 weight decay on weights (added to the update direction)', 0, parse.nonNegativeNumber),
  clipNorm: option('clipNorm', '--clip-norm <c>', 'clip the global update norm to c (0: off)', 0, parse.nonNegativeNumber),
  lrDecay: option('lrDecay', '--lr-decay <factor>', 'multiply the learning rate by this factor every --lr-decay-every steps', 1, parse.positiveNumber),
  lrDecayEvery: option('lrDecayEvery', '--lr-decay-every <steps>', 'steps between learning-rate decays (0: constant rate)', 0, parse.nonNegativeInt),
  epochs: option('epochs', '--epochs <n>', 'passes over the training data (default 10 unless --steps)', null as number | null, parse.positiveInt),
  steps: option('steps', '--steps <n>', 'total number of updates (instead of --epochs)', null as number | null, parse.positiveInt),
  batchSize: option('batchSize', '--batch-size <n>', 'examples per update', 64, parse.positiveInt),
  evalEvery: option('evalEvery', '--eval-every <steps>', 'evaluate every n steps as well as at the end of every epoch, unless the training split is one example (0: about 20 times a run, so learning curves show learning)', 0, parse.nonNegativeInt),
  evalBatchSize: option('evalBatchSize', '--eval-batch-size <n>', 'examples per evaluation batch', 1000, parse.positiveInt),
  finalTrainEval: option('finalTrainEval', '--final-train-eval <n>', 'evaluate the first n training examples at the end (0: the whole training split)', 0, parse.nonNegativeInt),
  checkpointEvery: option('checkpointEvery', '--checkpoint-every <steps>', 'also checkpoint every n steps (0: at every evaluation)', 0, parse.nonNegativeInt),
  logEvery: option('logEvery', '--log-every <steps>', 'log the running training loss every n steps (0: never)', 50, parse.nonNegativeInt),
  diagEvery: option(
    'diagEvery',
    '--diag-every <steps>',
    'log per-layer angles between the update and the backprop gradient (and feedback vs weights) every n steps and at the end (0: never)',
    100,
    parse.nonNegativeInt,
  ),
  analyzeEvery: option('analyzeEvery', '--analyze-every <steps>', 'record the --analyze measures every n steps, at step 0 and at the end (0: never)', 0, parse.nonNegativeInt),
  analyze: option('analyze', '--analyze <measures>', 'comma list of analyses recorded by --analyze-every (see `biocredit list`)', ['hessian', 'gap'], parseAnalyses),
  analyzePoints: option('analyzePoints', '--analyze-points <n>', 'examples (the first n, file order) for the --analyze measures', 1000, parse.positiveInt),
  analyzeParams: option('analyzeParams', '--analyze-params <globs>', 'restrict the --analyze curvature measures to parameters matching comma-separated globs, e.g. "rnn/J" (default: all trainable)', null as string | null, parse.string),
  analyzeTrace: option('analyzeTrace', '--analyze-trace <probes>', 'with --analyze hessian: also record the Hessian trace, by Hutch++ with n Hessian-vector products (0: not)', 0, parse.nonNegativeInt),
};

export const DEFAULT_EPOCHS = 10;

function value(key: TrainKey, spec: TrainSpec): OptionValue {
  const opt = TRAIN_OPTIONS[key];
  const v = spec[key];
  if (v === undefined || v === null) return opt.default;
  return parseFlag(opt.flag, String(v), opt.parse);
}

function optimizerConfig(spec: TrainSpec): OptimizerConfig {
  const num = (k: TrainKey) => value(k, spec) as number;
  const name = value('optimizer', spec) as OptimizerName;
  const [decayFactor, decayEvery] = [num('lrDecay'), num('lrDecayEvery')];
  if ((decayFactor !== 1) !== (decayEvery > 0)) throw new UsageError('give --lr-decay and --lr-decay-every together (e.g. --lr-decay 0.8 --lr-decay-every 300)');
  return {
    name,
    lr: (value('lr', spec) as number | null) ?? DEFAULT_LR[name],
    momentum: num('momentum'),
    weightDecay: num('weightDecay'),
    clipNorm: num('clipNorm'),
    ...(decayEvery > 0 ? { decay: { factor: decayFactor, every: decayEvery } } : {}),
  };
}

/** The model options a rule's papers train with (RuleEntry.defaults) that this model has; the command's own values override them. */
function presetFor(model: ModelEntry, rule: RuleEntry): Record<string, OptionValue> {
  const known = new Set((model.options ?? []).map((o) => o.key));
  return Object.fromEntries(Object.entries(rule.defaults?.model ?? {}).filter(([k]) => known.has(k)));
}

/** Resolves a spec into a full config, validating every value and every name. */
export function resolveConfig(spec: TrainSpec, backend: BackendName): RunConfig {
  const num = (k: TrainKey) => value(k, spec) as number;
  const str = (k: TrainKey) => value(k, spec) as string;
  const epochs = value('epochs', spec) as number | null;
  const steps = value('steps', spec) as number | null;
  if (epochs !== null && steps !== null) throw new UsageError('give --epochs or --steps, not both');
  const taskName = value('task', spec) as string | null;
  if (taskName !== null && spec.dataset !== undefined) throw new UsageError('give --dataset or --task, not both');
  const dataset = taskName !== null ? tasks.get(taskName) : datasets.get(str('dataset'));
  const model = models.get(str('model'));
  const rule = rules.get(str('rule'));
  const given = OPTIMIZER_KEYS.find((k) => spec[k] !== undefined && spec[k] !== null);
  if (rule.output === 'update' && given) {
    throw new UsageError(`${flagName(TRAIN_OPTIONS[given].flag)} does not apply to rule ${rule.name}: it applies its own updates, with no optimizer`);
  }
  // Validated even when --analyze-every is 0, so a typo is caught before a long run.
  const analyze = value('analyze', spec) as string[];
  const analyzePoints = num('analyzePoints');
  const analyzeParams = value('analyzeParams', spec) as string | null;
  const analyzeTrace = num('analyzeTrace');
  if (analyzeTrace > 0 && !analyze.includes('hessian')) throw new UsageError(`--analyze-trace records the Hessian trace with --analyze hessian; --analyze is ${analyze.join(',')}`);
  // A setting the command leaves out takes the dataset's batch size (a dataset smaller than any default batch),
  // else the rule's default (its papers'), else the trainer's.
  const ruleDefault = (k: 'batchSize' | 'logEvery' | 'diagEvery') =>
    spec[k] === undefined || spec[k] === null ? ((k === 'batchSize' ? dataset.batchSize : undefined) ?? rule.defaults?.[k] ?? num(k)) : num(k);
  return {
    biocredit: VERSION,
    seed: num('seed'),
    backend,
    dataset: {
      name: dataset.name,
      options: resolveOptions(`${taskName !== null ? 'task' : 'dataset'} ${dataset.name}`, dataset.options ?? [], spec.datasetOptions),
      ...(taskName !== null ? { kind: 'task' as const } : {}),
    },
    model: { name: model.name, options: resolveOptions(`model ${model.name}`, model.options ?? [], { ...presetFor(model, rule), ...spec.modelOptions }) },
    rule: { name: rule.name, options: resolveOptions(`rule ${rule.name}`, rule.options ?? [], spec.ruleOptions) },
    optimizer: rule.output === 'update' ? null : optimizerConfig(spec),
    training: {
      epochs: epochs === null && steps === null ? DEFAULT_EPOCHS : epochs,
      steps,
      batchSize: ruleDefault('batchSize'),
      evalEvery: num('evalEvery'),
      evalBatchSize: num('evalBatchSize'),
      checkpointEvery: num('checkpointEvery'),
      logEvery: ruleDefault('logEvery'),
      diagEvery: ruleDefault('diagEvery'),
      ...(num('finalTrainEval') > 0 ? { finalTrainEval: num('finalTrainEval') } : {}),
      ...(num('analyzeEvery') > 0
        ? {
            analysis: {
              every: num('analyzeEvery'),
              measures: analyze,
              points: analyzePoints,
              ...(analyzeParams ? { params: analyzeParams } : {}),
              ...(analyzeTrace > 0 ? { traceProbes: analyzeTrace } : {}),
            },
          }
        : {}),
    },
  };
}
