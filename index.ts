/**
 * biocredit's public API.
 *
 *   import { train, resume, registries } from 'biocredit';
 *   const summary = await train({ dataset: 'mnist-mini', model: 'mlp', rule: 'bp', epochs: 1 });
 */
import './register.js';

export { initBackend, backendInfo, type BackendChoice, type BackendName } from './src/backend.js';
export { resolveConfig, TRAIN_OPTIONS, type RunConfig, type TrainSpec, type TrainingConfig } from './src/config.js';
export { ArrayDataset, batches, disposeBatch } from './src/data.js';
export { BiocreditError, DataError, RunDirError, TrainingError, UsageError } from './src/errors.js';
export { evaluate, type EvalResult } from './src/evaluate.js';
export { lossFor } from './src/losses.js';
export { OPTIMIZERS, Optimizer, type OptimizerConfig, type OptimizerName } from './src/optim.js';
export { ParamStore, trainableNames } from './src/params.js';
export { readParamsDir, loadCheckpoint } from './src/checkpoint.js';
export * as registries from './src/registries.js';
export { analyses, datasets, models, rules, tasks } from './src/registries.js';
export { defineDataset, defineModel, defineRule } from './src/entries.js';
export { defineAnalysis, type AnalysisEntry, type RunAnalysis } from './src/analysis/contract.js';
export { analyzeRun, type AnalyzeRequest } from './src/analysis/analyze.js';
export { checkRequirements, provides } from './src/capabilities.js';
export { option, optionDefaults, parse, type OptionSpec, type OptionsOf } from './src/options.js';
export { populationLosses, populationOutputs } from './src/population.js';
export { scan, scanStep } from './src/scan.js';
export { Rng, RngStreams } from './src/rng.js';
export { prepareRun, resume, train, type Reporter, type RunSummary, type TrainOptions, type ResumeOptions } from './src/trainer.js';
export { buildRun, loadRun, readConfig, type RunParts } from './src/run.js';
export type * from './src/types.js';
export { VERSION } from './src/version.js';
export { createMlp, type MlpOptions } from './models/mlp.js';
export { createBackprop } from './rules/bp.js';
export { createFa } from './rules/fa.js';
export { createDfa } from './rules/dfa.js';
export { createUsf } from './rules/usf.js';
export { createFrsf } from './rules/frsf.js';
export { createBrsf } from './rules/brsf.js';
export { autodiffStep, angleDegrees } from './src/grad.js';
export { plainOps, denseWithFeedback, conv2dWithFeedback, withGradient, capturingGradient, type LayerOps } from './src/ops.js';
export { createConvnet, parseArch, type ConvnetOptions } from './models/convnet.js';
export { parseIdx, readIdxFile, loadIdxDirectory } from './datasets/idx.js';
export { loadMnist, loadMnistMini } from './datasets/mnist.js';
