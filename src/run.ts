/**
 * A run's pieces from its config: the dataset, the model, the rule (and their
 * registry entries), with what the rule and the training-time analyses require
 * of the model checked as soon as the model is built, before any training or
 * run directory. The trainer, `analyze` and the comparison report all build
 * runs this way, from the config.json a run directory holds.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRequirements } from './capabilities.js';
import { checkpointDir, loadCheckpoint, readParamsDir } from './checkpoint.js';
import { disposeBatch, inputsOf } from './data.js';
import type { ComponentConfig, RunConfig } from './config.js';
import { RunDirError, UsageError } from './errors.js';
import { lossFor } from './losses.js';
import { resolveOptions } from './options.js';
import { analyses, datasets, models, rules, tasks } from './registries.js';
import { Rng } from './rng.js';
import { countParams } from './tensors.js';
import type { Batch, DataInfo, Dataset, LearningRule, Model, Params, RegistryItem, RuleEntry } from './types.js';

export interface RunParts {
  config: RunConfig;
  dataset: Dataset;
  /** What the model and the rule were told about the dataset. */
  data: DataInfo;
  model: Model;
  rule: LearningRule;
  ruleEntry: RuleEntry;
}

/**
 * An entry's options as the current code resolves them: a config written before
 * an option existed gets its default, so older runs rebuild and resume.
 */
export function currentOptions(what: string, entry: RegistryItem, component: ComponentConfig): ComponentConfig['options'] {
  return resolveOptions(what, entry.options ?? [], component.options);
}

/** The run's dataset, as its config describes it. */
export async function loadDataset(config: RunConfig): Promise<Dataset> {
  const kind = config.dataset.kind === 'task' ? 'task' : 'dataset';
  const entry = (kind === 'task' ? tasks : datasets).get(config.dataset.name);
  return entry.load(currentOptions(`${kind} ${entry.name}`, entry, config.dataset), { seed: config.seed });
}

/** Builds a run from its config; `loaded` is its dataset when the caller has it loaded already. */
export async function buildRun(config: RunConfig, loaded?: Dataset): Promise<RunParts> {
  const dataset = loaded ?? (await loadDataset(config));
  if (dataset.size('train') === 0) throw new UsageError(`dataset ${config.dataset.name} has no training examples`);
  const modelEntry = models.get(config.model.name);
  const data: DataInfo = {
    inputShape: dataset.inputShape,
    outputSize: dataset.outputSize,
    ...(dataset.dtMs !== undefined ? { dtMs: dataset.dtMs } : {}),
    ...(dataset.hintSize ? { hints: dataset.hintSize } : {}),
    trainInputs: () => inputsOf(dataset.batch('train', Int32Array.from({ length: dataset.size('train') }, (_, i) => i))),
  };
  const model = modelEntry.create(currentOptions(`model ${modelEntry.name}`, modelEntry, config.model), data);
  checkSize(model);
  checkSchedule(config, dataset);
  checkData(model, dataset);
  const ruleEntry = rules.get(config.rule.name);
  checkRequirements(`rule ${ruleEntry.name}`, ruleEntry.requires, model);
  const rule = ruleEntry.create(currentOptions(`rule ${ruleEntry.name}`, ruleEntry, config.rule));
  rule.check?.(model);
  for (const name of config.training.analysis?.measures ?? []) checkRequirements(`--analyze ${name}`, analyses.get(name).requires, model);
  return { config, dataset, data, model, rule, ruleEntry };
}

/** Parameters the wasm backend can train: it has 4 GB, and training holds about four copies (weights, gradients, two optimizer slots). */
const MAX_PARAMS = 2 ** 28;

function checkSize(model: Model): void {
  const n = countParams(model.specs);
  if (n <= MAX_PARAMS) return;
  const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GB`;
  throw new UsageError(
    `model ${model.name} has ${n.toLocaleString('en-US')} parameters: ${gb(4 * n)} as float32, about ${gb(16 * n)} to train (weights, gradients, optimizer state), beyond the 4 GB a backend holds; make it smaller`,
  );
}

/** Most training steps a run may ask for (past this, a schedule is a typo). */
const MAX_STEPS = 1e9;

function checkSchedule(config: RunConfig, dataset: Dataset): void {
  const n = dataset.size('train');
  const { batchSize, epochs, steps } = config.training;
  if (batchSize > n) throw new UsageError(`--batch-size ${batchSize} is larger than the training split of ${config.dataset.name} (${n} examples)`);
  const total = steps ?? (epochs ?? 1) * Math.ceil(n / batchSize);
  if (total > MAX_STEPS) throw new UsageError(`${steps !== null ? `--steps ${steps}` : `--epochs ${epochs}`} makes ${total.toExponential(2)} training steps; at most ${MAX_STEPS.toExponential(0)}`);
}

/** Steps of a task's trials the data check runs: the shapes show in a few, and long trials (FORCE's 14,400) would fill memory. */
const CHECK_STEPS = 16;

/** The first `steps` time steps of a batch of sequences (x and y [B, T, …]); other batches as they are. */
function firstSteps(batch: Batch, steps: number): Batch {
  if (batch.x.rank !== 3 || batch.y.rank !== 3 || batch.x.shape[1]! <= steps) return batch;
  const cut = (t: tf.Tensor) => tf.slice(t, 0, [-1, steps]);
  const short: Batch = { x: cut(batch.x), y: cut(batch.y), size: batch.size };
  if (batch.mask) short.mask = cut(batch.mask);
  if (batch.steps) short.steps = batch.steps.map((n) => Math.min(n, steps));
  disposeBatch(batch);
  return short;
}

/**
 * One forward pass and loss on two training examples with throwaway weights,
 * so a model that cannot take the data (an MLP on a task's sequences) is
 * refused before any run directory exists.
 */
function checkData(model: Model, dataset: Dataset): void {
  const whole = dataset.batch('train', Array.from({ length: Math.min(2, dataset.size('train')) }, (_, i) => i));
  // A model that steps through time takes any length; others (an MLP) are checked on the whole trial.
  const batch = model.recurrent ? firstSteps(whole, CHECK_STEPS) : whole;
  const params = model.init(new Rng('data-check'));
  const loss = lossFor(dataset.loss);
  const sequences = batch.y.rank === 3;
  const want = sequences ? batch.y.shape : [batch.size, dataset.outputSize];
  let got: number[] = want;
  try {
    tf.tidy(() => {
      const { output } = model.forward(params, batch.x);
      got = output.shape;
      if (got.join('×') === want.join('×')) loss.value(output, batch);
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`model ${model.name} cannot take the examples of ${dataset.name} (shape [${dataset.inputShape.join(', ')}]): ${(e as Error).message}`);
  } finally {
    tf.dispose(Object.values(params));
    disposeBatch(batch);
  }
  if (got.join('×') !== want.join('×')) {
    const hint = sequences ? ' (a task needs a model that steps through time: --model rnn)' : '';
    throw new UsageError(`model ${model.name} gives outputs of shape [${got.join(', ')}] where dataset ${dataset.name} needs [${want.join(', ')}]${hint}`);
  }
}

export function readConfig(runDir: string): RunConfig {
  const path = join(runDir, 'config.json');
  if (!existsSync(runDir)) throw new RunDirError(runDir, 'directory not found');
  if (!existsSync(path)) throw new RunDirError(runDir, 'not a biocredit run directory (no config.json)');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunConfig;
  } catch (e) {
    throw new RunDirError(runDir, `config.json is not valid JSON (${(e as Error).message})`);
  }
}

/** A run's config, last checkpoint, and (when saved) initial parameters. */
export interface LoadedRun {
  config: RunConfig;
  dataset: Dataset;
  model: Model;
  params: Params;
  init: Params | null;
  step: number;
}

export async function loadRun(runDir: string): Promise<LoadedRun> {
  const config = readConfig(runDir);
  if (!checkpointDir(runDir)) throw new RunDirError(runDir, 'no checkpoint to analyse (checkpoint/ is missing; the run never saved one)');
  const { params, state } = loadCheckpoint<unknown>(runDir);
  tf.dispose(state.optimizer.map((w) => w.tensor));
  tf.dispose(Object.values(state.rule));
  const { dataset, model } = await buildRun(config);
  const initDir = join(runDir, 'init');
  const init = existsSync(join(initDir, 'model.json')) ? readParamsDir(initDir).params : null;
  return { config, dataset, model, params, init, step: state.step };
}
