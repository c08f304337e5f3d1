/**
 * The training loop — the only one in biocredit. It owns per-step tensor
 * lifetime, applies the rule's updates through the optimizer, evaluates, logs
 * metrics.jsonl, checkpoints, and resumes. It knows no rule or model by name.
 *
 * Determinism: the epoch-e shuffle is drawn from the stream `shuffle/e`, all
 * other randomness from named streams whose state is checkpointed, so a run
 * killed and resumed ends with exactly the numbers of an uninterrupted run
 * (same seed, same backend).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, appendFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AnalysisRecord } from './analysis/contract.js';
import { selectParams } from './analysis/hvp.js';
import { initBackend } from './backend.js';
import { provides } from './capabilities.js';
import { atomicWriteJson, checkpointDir, loadCheckpoint, saveCheckpoint, writeParamsDir } from './checkpoint.js';
import { resolveConfig, type RunConfig, type TrainingConfig, type TrainSpec } from './config.js';
import { disposeBatch } from './data.js';
import { TrainingError, UsageError } from './errors.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { angleDegrees, autodiffStep } from './grad.js';
import { LOCK_FILE, lockDir } from './lock.js';
import { isRegression, lossFor } from './losses.js';
import { nativeStatus } from './native-kernels.js';
import { applyUpdate, Optimizer } from './optim.js';
import { ParamStore } from './params.js';
import { analyses } from './registries.js';
import { RngStreams } from './rng.js';
import { buildRun, readConfig, type RunParts } from './run.js';
import { countParams, tidyObject, type NamedTensor } from './tensors.js';
import type { Batch, Params, RuleState, Split } from './types.js';

export interface StartInfo {
  runDir: string;
  config: RunConfig;
  totalSteps: number;
  stepsPerEpoch: number;
  startStep: number;
  params: number;
  resumed: boolean;
}

export interface Progress {
  step: number;
  totalSteps: number;
  /** Fractional epochs completed. */
  epoch: number;
  epochs: number;
  /** Running mean training loss and accuracy since the last evaluation. */
  loss: number;
  accuracy: number;
  examplesPerSec: number;
  etaSec: number;
}

export interface EvalRecord {
  type: 'eval';
  step: number;
  epoch: number;
  /** Running training metrics since the previous evaluation. */
  train: { loss: number; accuracy: number };
  val?: EvalResult;
  test: EvalResult;
  examplesPerSec: number;
  wallSec: number;
}

/** Per-layer alignment at one step; angles in degrees. */
export interface LayerDiagnostics {
  /** Angle between the rule's update of W_l and the backprop gradient on the same batch. */
  updateAngle: number;
  /** Angle between the feedback matrix and its backprop counterpart (rules with feedback matrices). */
  feedbackAngle?: number;
  /** ‖feedback‖ / ‖counterpart‖. */
  feedbackNormRatio?: number;
}

export interface DiagRecord {
  type: 'diag';
  step: number;
  epoch: number;
  layers: Record<string, LayerDiagnostics>;
}

export interface TrainRecord {
  type: 'train';
  step: number;
  epoch: number;
  loss: number;
  accuracy: number;
  /** Of the logged step: for gradient rules ‖gradient‖ (with weight decay) before clipping and the optimizer, for update rules ‖Δθ‖. */
  updateNorm: number;
  /** The rule's own step metrics (RuleStep.metrics), mean over the window. */
  metrics?: Record<string, number>;
  examplesPerSec: number;
  wallSec: number;
}

/** Receives what the loop is doing; every method is optional. */
export interface Reporter {
  start?(info: StartInfo): void;
  progress?(p: Progress): void;
  eval?(record: EvalRecord): void;
  diag?(record: DiagRecord): void;
  analysis?(record: AnalysisRecord): void;
}

export interface TrainOptions {
  /** Run directory; default runs/<timestamp>-<rule>-<model>-<dataset> under the current directory. */
  out?: string;
  reporter?: Reporter;
  /** When aborted, the loop checkpoints at the next step boundary and returns an 'interrupted' summary. */
  signal?: AbortSignal;
}

export interface ResumeOptions extends Omit<TrainOptions, 'out'> {
  /** Extend (or shorten) the run; the other settings come from config.json. */
  epochs?: number;
  steps?: number;
  /** Backend to resume on; numbers match an uninterrupted run only on the original backend. */
  backend?: TrainSpec['backend'];
}

/**
 * The best evaluation by the dataset's metric: accuracy (higher is better), or
 * for regression tasks the normalized error (lower is better); on the
 * validation split, also the test value there.
 */
export interface Best {
  metric: 'accuracy' | 'nmse';
  test: { value: number; step: number };
  val?: { value: number; step: number; test: number };
}

/** Evaluations in a run when --eval-every is 0 (besides those at epoch ends): enough points for a learning curve. */
export const AUTO_EVALUATIONS = 20;

/** A run ends diverged when its final test loss exceeds its initial one this many times. */
export const DIVERGED_FACTOR = 100;

export interface RunSummary {
  /** `diverged`: it ran to the end, but its test loss grew by orders of magnitude (see `warning`). */
  status: 'finished' | 'interrupted' | 'diverged';
  warning?: string;
  runDir: string;
  rule: string;
  model: string;
  dataset: string;
  seed: number;
  backend: string;
  /** On the wasm backend: whether the native kernels ran (`on (avx512)`, `off (BIOCREDIT_NATIVE=0)`, `not built …`). */
  native?: string;
  params: number;
  steps: number;
  totalSteps: number;
  epochs: number;
  final: { train?: EvalResult; val?: EvalResult; test: EvalResult };
  /** The last alignment diagnostics, per layer (when --diag-every > 0). */
  alignment?: { step: number; layers: Record<string, LayerDiagnostics> };
  best: Best;
  /** Wall time of the whole run (training, evaluation, checkpoints), summed over resumes. */
  wallSec: number;
  /** Wall time of training steps only, per epoch. */
  secPerEpoch: number;
  examplesPerSec: number;
}

/** What the loop carries between steps; saved in every checkpoint. */
interface LoopState {
  step: number;
  /** Training examples processed. */
  examples: number;
  wallSec: number;
  trainSec: number;
  window: { lossSum: number; correct: number; n: number };
  /** `metrics`: sums of the rule's step metrics and the number of steps they cover (absent in older checkpoints). */
  logWindow: { lossSum: number; correct: number; n: number; sec: number; metrics?: Record<string, number>; steps?: number };
  best: Best | null;
  /** Test loss at step 0, the yardstick of divergence (absent in older checkpoints: read from metrics.jsonl). */
  initialTestLoss?: number;
  alignment: RunSummary['alignment'] | null;
}

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Why a directory cannot be made or written, from its error code, for a one-line error naming the flag. */
function dirProblem(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return 'a file stands where a directory is needed';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return e.message;
  }
}

/** Creates `dir` (and its parents), or throws a UsageError naming `flag` and what stands in the way. */
export function makeDir(dir: string, flag: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`${flag} ${dir}: cannot create the directory (${dirProblem(e as NodeJS.ErrnoException)})`);
  }
}

/**
 * Creates a run directory holding only its config.json: a prepared run, which
 * `resume` starts (comparisons prepare every run this way before any starts, so
 * a run can be executed wherever its directory is).
 */
export function prepareRun(config: RunConfig, out?: string): string {
  const dir = resolve(out ?? join('runs', `${timestamp()}-${config.rule.name}-${config.model.name}-${config.dataset.name}`));
  if (existsSync(dir)) {
    if (existsSync(join(dir, 'config.json'))) {
      throw new UsageError(`--out ${dir} already holds a run; continue it with --resume ${dir} or choose another --out`);
    }
    if (!statSync(dir).isDirectory()) throw new UsageError(`--out ${dir} is a file; a run directory is needed`);
    if (readdirSync(dir).some((f) => f !== LOCK_FILE)) throw new UsageError(`--out ${dir} exists and is not empty`);
  }
  makeDir(dir, '--out');
  try {
    atomicWriteJson(join(dir, 'config.json'), config);
  } catch (e) {
    throw new UsageError(`--out ${dir}: cannot write there (${dirProblem(e as NodeJS.ErrnoException)})`);
  }
  return dir;
}

/** Drops metric records written after `step` (by a run that died before its next checkpoint). */
function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const keep = lines.filter((l) => {
    try {
      return (JSON.parse(l) as { step: number }).step <= step;
    } catch {
      return false;
    }
  });
  truncateSync(path, 0);
  if (keep.length) appendFileSync(path, `${keep.join('\n')}\n`);
}

/** Trains a new run. Returns its summary (also written to summary.json). */
export async function train(spec: TrainSpec = {}, options: TrainOptions = {}): Promise<RunSummary> {
  const backend = await initBackend(spec.backend);
  const config = resolveConfig(spec, backend);
  const parts = await buildRun(config);
  const runDir = prepareRun(config, options.out);
  const lock = lockDir(runDir);
  try {
    return await start(parts, runDir, options);
  } finally {
    lock.release();
  }
}

/** Step 0 of a prepared run: initial parameters (kept in init/), rule state, then the loop. */
async function start(parts: RunParts, runDir: string, options: TrainOptions): Promise<RunSummary> {
  const { config } = parts;
  writeFileSync(join(runDir, 'metrics.jsonl'), '');
  const rngs = new RngStreams(config.seed);
  const init = parts.model.init(rngs.stream('init'));
  const store = new ParamStore(parts.model, init);
  tf.dispose(Object.values(init));
  store.project();
  await writeParamsDir(join(runDir, 'init'), store.values, { step: 0, model: config.model });
  // A rule's temporaries while it builds its state are freed here, whatever the rule does.
  const ruleState = tidyObject(() => parts.rule.init(parts.model, store.values, rngs.stream('rule'), parts.data));
  return runLoop(parts, runDir, { store, ruleState, rngs, saved: null, optimizerState: [] }, options);
}

/**
 * Continues a run from its last checkpoint; a prepared run (config.json only, or
 * a run that died before its first checkpoint) starts from step 0.
 */
export async function resume(runDir: string, options: ResumeOptions = {}): Promise<RunSummary> {
  runDir = resolve(runDir);
  readConfig(runDir);
  const lock = lockDir(runDir);
  try {
    return await resumeLocked(runDir, options);
  } finally {
    lock.release();
  }
}

async function resumeLocked(runDir: string, options: ResumeOptions): Promise<RunSummary> {
  const config = readConfig(runDir);
  if (options.epochs !== undefined && options.steps !== undefined) throw new UsageError('give --epochs or --steps, not both');
  if (options.epochs !== undefined) config.training = { ...config.training, epochs: options.epochs, steps: null };
  if (options.steps !== undefined) config.training = { ...config.training, steps: options.steps, epochs: null };
  const backend = await initBackend(options.backend);
  if (!checkpointDir(runDir)) {
    // Nothing was computed yet: the run starts on this backend.
    config.backend = backend;
    const parts = await buildRun(config);
    atomicWriteJson(join(runDir, 'config.json'), config);
    return start(parts, runDir, options);
  }
  const { params, state } = loadCheckpoint<LoopState>(runDir);
  if (backend !== config.backend) {
    process.emitWarning(`run ${runDir} was trained on ${config.backend}, resuming on ${backend}: numbers will differ from an uninterrupted run`);
  }
  const parts = await buildRun(config);
  atomicWriteJson(join(runDir, 'config.json'), config);
  truncateMetrics(join(runDir, 'metrics.jsonl'), state.step);
  const store = new ParamStore(parts.model, params);
  tf.dispose(Object.values(params));
  const rngs = new RngStreams(config.seed, state.rng);
  const from = { store, ruleState: { tensors: state.rule }, rngs, saved: upgraded(state.trainer, runDir), optimizerState: state.optimizer };
  return runLoop(parts, runDir, from, options);
}

/**
 * A loop state as this version keeps it, from a checkpoint an older version may
 * have written: `best` by accuracy only, no initial test loss (its step-0
 * evaluation is the first record of metrics.jsonl).
 */
function upgraded(saved: LoopState, runDir: string): LoopState {
  const old = saved.best as unknown as { test: { accuracy?: number; value?: number; step: number }; val?: { accuracy: number; step: number; testAccuracy: number } } | null;
  const best: Best | null =
    old && !('metric' in old)
      ? { metric: 'accuracy', test: { value: old.test.accuracy ?? NaN, step: old.test.step }, ...(old.val ? { val: { value: old.val.accuracy, step: old.val.step, test: old.val.testAccuracy } } : {}) }
      : saved.best;
  let initialTestLoss = saved.initialTestLoss;
  if (initialTestLoss === undefined) {
    const first = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').split('\n').find((l) => l.includes('"eval"'));
    initialTestLoss = first ? (JSON.parse(first) as EvalRecord).test.loss : NaN;
  }
  return { ...saved, best, initialTestLoss };
}

function mean(sum: number, n: number): number {
  return n > 0 ? sum / n : NaN;
}

function disposeUnlessKept(tensors: tf.Tensor[], keep: Set<number>): void {
  for (const t of tensors) if (!keep.has(t.id) && !t.isDisposed) t.dispose();
}

/**
 * Alignment of a rule's output with the backprop gradient on the same batch,
 * per weight the rule changes, and of its feedback pathway with the weights
 * (when it has one). An 'update' rule's change is compared with the descent
 * direction −∇L, a 'gradient' rule's estimate with ∇L.
 */
function diagnose(parts: RunParts, params: Params, batch: Batch, updates: Params, state: RuleState): Record<string, LayerDiagnostics> {
  const { model, rule, dataset, ruleEntry } = parts;
  const exact = tidyObject(() => autodiffStep({ model, params, batch, loss: lossFor(dataset.loss) }));
  const feedback = rule.feedbackDiagnostics?.(model, params, state) ?? {};
  const layers: Record<string, LayerDiagnostics> = {};
  const weights = model.layers?.map((l) => [l.name, l.weight] as const) ??
    Object.entries(model.specs)
      .filter(([, s]) => s.role === 'weight' && s.trainable !== false)
      .map(([name]) => [name, name] as const);
  for (const [layer, weight] of weights) {
    if (!updates[weight]) continue;
    const f = feedback[layer];
    const angle = ruleEntry.output === 'update' ? tf.tidy(() => angleDegrees(tf.neg(updates[weight]!), exact.updates[weight]!)) : angleDegrees(updates[weight]!, exact.updates[weight]!);
    layers[layer] = {
      updateAngle: angle,
      ...(f ? { feedbackAngle: f.angle, feedbackNormRatio: f.normRatio } : {}),
    };
  }
  tf.dispose([exact.loss, exact.output, ...Object.values(exact.updates)]);
  return layers;
}

/** Runs the named training-time measures and times them. */
function measure(parts: RunParts, params: Params, analysis: NonNullable<TrainingConfig['analysis']>, rng: RngStreams, step: number): Record<string, number | boolean> {
  const t0 = performance.now();
  const out: Record<string, number | boolean> = {};
  const paramNames = selectParams(parts.model, analysis.params, '--analyze-params');
  const ctx = { model: parts.model, params, dataset: parts.dataset, points: analysis.points, paramNames, traceProbes: analysis.traceProbes ?? 0, rng: rng.derive('analysis', step) };
  for (const name of analysis.measures) Object.assign(out, analyses.get(name).measure!(ctx));
  return { ...out, sec: (performance.now() - t0) / 1000 };
}

/** Where the loop starts: fresh (saved = null) or from a checkpoint. */
interface LoopStart {
  store: ParamStore;
  ruleState: RuleState;
  rngs: RngStreams;
  saved: LoopState | null;
  optimizerState: NamedTensor[];
}

async function runLoop(parts: RunParts, runDir: string, start: LoopStart, options: TrainOptions): Promise<RunSummary> {
  const { config, dataset, model, rule } = parts;
  const { store, rngs, saved, optimizerState } = start;
  const resumed = saved !== null;
  let ruleState = start.ruleState;
  const { batchSize, evalEvery, evalBatchSize, checkpointEvery, logEvery } = config.training;
  // The alignment diagnostic differentiates the model; one declared non-differentiable has none.
  const diagEvery = provides(model, 'differentiable') ? config.training.diagEvery : 0;
  const loss = lossFor(dataset.loss);
  // Regression tasks are judged by their normalized error (lower is better), the others by accuracy.
  const metric: Best['metric'] = isRegression(dataset.loss) ? 'nmse' : 'accuracy';
  const measureOf = (r: EvalResult) => (metric === 'nmse' ? (r.nmse ?? NaN) : r.accuracy);
  const better = (v: number, than: number) => Number.isFinite(v) && (!Number.isFinite(than) || (metric === 'nmse' ? v < than : v > than));
  const optimizer = config.optimizer ? new Optimizer(config.optimizer, store) : null;
  if (optimizer && optimizerState.length) await optimizer.restore(optimizerState);
  tf.dispose(optimizerState.map((w) => w.tensor));
  const nTrain = dataset.size('train');
  const stepsPerEpoch = Math.ceil(nTrain / batchSize);
  const totalSteps = config.training.steps ?? (config.training.epochs ?? 1) * stepsPerEpoch;
  const epochs = totalSteps / stepsPerEpoch;
  const evalInterval = evalEvery > 0 ? evalEvery : Math.max(1, Math.ceil(totalSteps / AUTO_EVALUATIONS));
  const evalSplits: Split[] = dataset.size('val') > 0 ? ['val', 'test'] : ['test'];
  const metricsPath = join(runDir, 'metrics.jsonl');
  const ruleRng = rngs.stream('rule');
  const st: LoopState = saved ?? {
    step: 0,
    examples: 0,
    wallSec: 0,
    trainSec: 0,
    window: { lossSum: 0, correct: 0, n: 0 },
    logWindow: { lossSum: 0, correct: 0, n: 0, sec: 0 },
    best: null,
    alignment: null,
  };
  const startStep = st.step;
  const wallStart = performance.now() - st.wallSec * 1000;
  const wall = () => (performance.now() - wallStart) / 1000;
  const write = (record: object) => appendFileSync(metricsPath, `${JSON.stringify(record)}\n`);

  const checkpoint = async () => {
    st.wallSec = wall();
    const optimizerWeights = optimizer ? await optimizer.state() : [];
    try {
      await saveCheckpoint(runDir, store.values, {
        step: st.step,
        trainer: st,
        rng: rngs.state(),
        optimizer: optimizerWeights,
        rule: ruleState.tensors,
      });
    } finally {
      tf.dispose(optimizerWeights.map((w) => w.tensor));
    }
  };

  const summarize = (ended: 'finished' | 'interrupted', final: RunSummary['final']): RunSummary => {
    const done = st.step / stepsPerEpoch;
    const initial = st.initialTestLoss ?? NaN;
    const diverged = ended === 'finished' && final.test.loss > DIVERGED_FACTOR * initial;
    const summary: RunSummary = {
      status: diverged ? 'diverged' : ended,
      ...(diverged
        ? { warning: `the run diverged: its final test loss ${final.test.loss.toPrecision(3)} is ${(final.test.loss / initial).toPrecision(2)} times its initial ${initial.toPrecision(3)}` }
        : {}),
      runDir,
      rule: config.rule.name,
      model: config.model.name,
      dataset: config.dataset.name,
      seed: config.seed,
      backend: config.backend,
      ...(config.backend === 'wasm' ? { native: nativeStatus() } : {}),
      params: countParams(model.specs),
      steps: st.step,
      totalSteps,
      epochs: done,
      final,
      best: st.best ?? { metric, test: { value: measureOf(final.test), step: st.step } },
      ...(st.alignment ? { alignment: st.alignment } : {}),
      wallSec: wall(),
      secPerEpoch: done > 0 ? st.trainSec / done : NaN,
      examplesPerSec: st.trainSec > 0 ? st.examples / st.trainSec : NaN,
    };
    atomicWriteJson(join(runDir, 'summary.json'), summary);
    return summary;
  };

  const analysis = config.training.analysis;
  // A glob that matches nothing stops the run before its first step, not at its first record.
  if (analysis) selectParams(model, analysis.params, '--analyze-params');
  const recordAnalysis = () => {
    const record: AnalysisRecord = {
      type: 'analysis',
      step: st.step,
      epoch: st.step / stepsPerEpoch,
      ...measure(parts, store.values, analysis!, rngs, st.step),
    };
    write(record);
    options.reporter?.analysis?.(record);
  };

  const evalAll = (): Partial<Record<Split, EvalResult>> => {
    const out: Partial<Record<Split, EvalResult>> = {};
    for (const split of evalSplits) out[split] = evaluate(model, store.values, dataset, split, evalBatchSize);
    return out;
  };

  options.reporter?.start?.({
    runDir,
    config,
    totalSteps,
    stepsPerEpoch,
    startStep,
    params: countParams(model.specs),
    resumed,
  });

  try {
    if (!resumed) {
      // Learning curves start from the untrained network.
      const initial = evalAll();
      const record: EvalRecord = {
        type: 'eval',
        step: 0,
        epoch: 0,
        train: { loss: NaN, accuracy: NaN },
        ...(initial.val ? { val: initial.val } : {}),
        test: initial.test!,
        examplesPerSec: NaN,
        wallSec: wall(),
      };
      write(record);
      st.initialTestLoss = record.test.loss;
      options.reporter?.eval?.(record);
      if (analysis) recordAnalysis();
      await checkpoint();
    }
    let perm: Int32Array | null = null;
    let permEpoch = -1;
    let lastCheckpointStep = st.step;
    const loopStart = performance.now();
    while (st.step < totalSteps) {
      if (options.signal?.aborted) {
        if (lastCheckpointStep !== st.step) await checkpoint();
        const last = evalAll();
        return summarize('interrupted', { test: last.test!, ...(last.val ? { val: last.val } : {}) });
      }
      const epoch = Math.floor(st.step / stepsPerEpoch);
      const pos = st.step % stepsPerEpoch;
      if (permEpoch !== epoch || !perm) {
        perm = rngs.derive('shuffle', epoch).permutation(nTrain);
        permEpoch = epoch;
      }
      const t0 = performance.now();
      const batch = dataset.batch('train', perm.subarray(pos * batchSize, Math.min((pos + 1) * batchSize, nTrain)));
      const params = store.values;
      const out = tidyObject(() => {
        const r = rule.step({ model, params, batch, loss, state: ruleState, step: st.step, rng: ruleRng, noise: rngs.derive('noise', st.step) });
        return { ...r, correct: loss.correct(r.output, batch) };
      });
      const lossValue = out.loss.dataSync()[0]!;
      const correct = out.correct.dataSync()[0]!;
      const stepMetrics = Object.fromEntries(Object.entries(out.metrics ?? {}).map(([k, v]) => [k, v.dataSync()[0]!]));
      const keep = new Set<number>([
        ...Object.values(params).map((t) => t.id),
        ...Object.values(ruleState.tensors).map((t) => t.id),
        ...Object.values(out.state?.tensors ?? {}).map((t) => t.id),
      ]);
      const stepTensors = [out.loss, out.output, out.correct, ...Object.values(out.updates), ...Object.values(out.metrics ?? {})];
      if (!Number.isFinite(lossValue)) {
        disposeUnlessKept([...stepTensors, ...Object.values(out.state?.tensors ?? {})], keep);
        disposeBatch(batch);
        throw new TrainingError(
          `non-finite loss (${lossValue}) at step ${st.step + 1} (epoch ${epoch + 1}); the last good checkpoint (step ${lastCheckpointStep}) is in ${join(runDir, 'checkpoint')}`,
        );
      }
      if (diagEvery > 0 && ((st.step + 1) % diagEvery === 0 || st.step + 1 === totalSteps)) {
        const record: DiagRecord = {
          type: 'diag',
          step: st.step + 1,
          epoch: (st.step + 1) / stepsPerEpoch,
          layers: diagnose(parts, params, batch, out.updates, ruleState),
        };
        write(record);
        st.alignment = { step: record.step, layers: record.layers };
        options.reporter?.diag?.(record);
      }
      const { updateNorm } = optimizer ? optimizer.apply(out.updates, st.step) : applyUpdate(store, out.updates);
      if (!Number.isFinite(updateNorm)) {
        disposeUnlessKept(stepTensors, keep);
        disposeBatch(batch);
        throw new TrainingError(
          `non-finite update at step ${st.step + 1} (epoch ${epoch + 1}); not applied; the last good checkpoint (step ${lastCheckpointStep}) is in ${join(runDir, 'checkpoint')}`,
        );
      }
      if (rule.constrain) {
        const constrained = tidyObject(() => rule.constrain!(store.values, out.state ?? ruleState));
        store.assign(constrained);
        tf.dispose(Object.values(constrained));
      }
      if (out.state) {
        const next = new Set(Object.values(out.state.tensors).map((t) => t.id));
        disposeUnlessKept(Object.values(ruleState.tensors), next);
        ruleState = out.state;
      }
      disposeUnlessKept(stepTensors, keep);
      disposeBatch(batch);
      const dt = (performance.now() - t0) / 1000;
      st.step += 1;
      st.examples += batch.size;
      st.trainSec += dt;
      for (const w of [st.window, st.logWindow]) {
        w.lossSum += lossValue * batch.size;
        w.correct += correct;
        w.n += batch.size;
      }
      st.logWindow.sec += dt;
      if (Object.keys(stepMetrics).length) {
        const sums = (st.logWindow.metrics ??= {});
        for (const [k, v] of Object.entries(stepMetrics)) sums[k] = (sums[k] ?? 0) + v;
        st.logWindow.steps = (st.logWindow.steps ?? 0) + 1;
      }

      if (logEvery > 0 && st.step % logEvery === 0) {
        const record: TrainRecord = {
          type: 'train',
          step: st.step,
          epoch: st.step / stepsPerEpoch,
          loss: mean(st.logWindow.lossSum, st.logWindow.n),
          accuracy: mean(st.logWindow.correct, st.logWindow.n),
          updateNorm,
          ...(st.logWindow.metrics ? { metrics: Object.fromEntries(Object.entries(st.logWindow.metrics).map(([k, v]) => [k, v / st.logWindow.steps!])) } : {}),
          examplesPerSec: st.logWindow.n / st.logWindow.sec,
          wallSec: wall(),
        };
        write(record);
        st.logWindow = { lossSum: 0, correct: 0, n: 0, sec: 0 };
      }

      if (options.reporter?.progress) {
        const elapsed = (performance.now() - loopStart) / 1000;
        const done = st.step - startStep;
        options.reporter.progress({
          step: st.step,
          totalSteps,
          epoch: st.step / stepsPerEpoch,
          epochs,
          loss: mean(st.window.lossSum, st.window.n),
          accuracy: mean(st.window.correct, st.window.n),
          examplesPerSec: st.trainSec > 0 ? st.examples / st.trainSec : NaN,
          etaSec: done > 0 ? ((totalSteps - st.step) * elapsed) / done : NaN,
        });
      }
      // With one training example (rober's trajectory) every step ends an epoch;
      // its evaluations and checkpoints then follow the interval alone.
      const endOfEpoch = (nTrain > 1 && st.step % stepsPerEpoch === 0) || st.step === totalSteps;
      const evalNow = endOfEpoch || st.step % evalInterval === 0;
      if (evalNow) {
        const results = evalAll();
        const record: EvalRecord = {
          type: 'eval',
          step: st.step,
          epoch: st.step / stepsPerEpoch,
          train: { loss: mean(st.window.lossSum, st.window.n), accuracy: mean(st.window.correct, st.window.n) },
          ...(results.val ? { val: results.val } : {}),
          test: results.test!,
          examplesPerSec: st.trainSec > 0 ? st.examples / st.trainSec : NaN,
          wallSec: wall(),
        };
        write(record);
        st.window = { lossSum: 0, correct: 0, n: 0 };
        const best: Best = st.best ?? { metric, test: { value: NaN, step: 0 } };
        const test = measureOf(record.test);
        if (better(test, best.test.value)) best.test = { value: test, step: st.step };
        if (record.val && better(measureOf(record.val), best.val?.value ?? NaN)) {
          best.val = { value: measureOf(record.val), step: st.step, test };
        }
        st.best = best;
        options.reporter?.eval?.(record);
      }
      if (analysis && (st.step % analysis.every === 0 || st.step === totalSteps)) recordAnalysis();
      if ((evalNow && checkpointEvery === 0) || endOfEpoch || (checkpointEvery > 0 && st.step % checkpointEvery === 0)) {
        await checkpoint();
        lastCheckpointStep = st.step;
      }
      // Let signal handlers (Ctrl-C) and progress output run between steps.
      await new Promise((r) => setImmediate(r));
    }
    const last = evalAll();
    const final: RunSummary['final'] = {
      train: evaluate(model, store.values, dataset, 'train', evalBatchSize, config.training.finalTrainEval || Infinity),
      ...(last.val ? { val: last.val } : {}),
      test: last.test!,
    };
    return summarize('finished', final);
  } catch (e) {
    if (e instanceof TrainingError) {
      atomicWriteJson(join(runDir, 'summary.json'), { status: 'failed', error: e.message, runDir, steps: st.step, totalSteps });
    }
    throw e;
  } finally {
    optimizer?.dispose();
    store.dispose();
    tf.dispose(Object.values(ruleState.tensors));
  }
}
