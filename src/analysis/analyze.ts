/**
 * Analysis of a trained network: Hessian spectrum (top eigenvalues, trace,
 * density), generalization gap, sharpness (ε-sharpness and SAM-style) and
 * geometry (weight change from init, effective ranks, participation ratios,
 * tangent-kernel alignment between init and end). `analyzeRun` works on a run
 * directory's last checkpoint; the training hooks (src/analysis/hooks.ts) call
 * the same measures on the live parameters.
 *
 * The Hessian is the Hessian of the mean training loss over the first
 * `points` examples of `split` in file order (the same examples for every run,
 * rule and tool that takes "the first N"), with respect to the parameters
 * matching `params` (all trainable parameters by default).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { atomicWriteJson, checkpointDir, loadCheckpoint, readParamsDir } from '../checkpoint.js';
import type { RunConfig } from '../config.js';
import { RunDirError, UsageError } from '../errors.js';
import { evaluate, type EvalResult } from '../evaluate.js';
import { Rng } from '../rng.js';
import { buildRun, readConfig } from '../trainer.js';
import type { Dataset, Model, Params, Split } from '../types.js';
import { rnnDynamics, type DynamicsResult } from './dynamics.js';
import { checkImplicitBias, implicitBias, type ImplicitBiasResult } from './implicit-bias.js';
import { effectiveRank, hiddenParticipationRatios, kernelAlignment, tangentKernel, weightChange } from './geometry.js';
import { DEFAULT_REL_STEP, LossSurface, selectParams, type HvpMethod } from './hvp.js';
import { norm, type Vec } from './linalg.js';
import { DEFAULT_MAX_ITER, DEFAULT_TOL, hutchinson, hutchPlusPlus, lanczosTopK, powerTopK, slqDensity, type Density } from './spectrum.js';

export interface HessianRequest {
  /** Number of top eigenvalues (0: none). */
  topK: number;
  trace: boolean;
  density: boolean;
}

export interface AnalyzeOptions {
  hessian: HessianRequest | null;
  gap: boolean;
  sharpness: boolean;
  geometry: boolean;
  /** RNNs: eigenvalues of J, largest Lyapunov exponent, participation ratio of the activity. */
  dynamics: boolean;
  /** Gated linear networks: max-margin predictors, their test errors and inconsistency with the trained network. */
  implicitBias: boolean;
  /** Steps averaged for the Lyapunov exponent (after as many / 4 transient steps). */
  lyapunovSteps: number;
  points: number;
  split: Split;
  /** Comma-separated globs of parameter names (default: all trainable). */
  params?: string;
  method: 'lanczos' | 'power';
  tol: number;
  maxIter: number;
  traceMethod: 'hutch++' | 'hutchinson';
  /** Hessian-vector products spent on the trace. */
  probes: number;
  densitySteps: number;
  densityRuns: number;
  /** SAM radius. */
  rho: number;
  /** Keskar's ε (box half-width relative to |θ_i| + 1). */
  epsilon: number;
  /** Projected sign-ascent steps for ε-sharpness. */
  epsilonSteps: number;
  /** Examples for the tangent kernel. */
  kernelPoints: number;
  /** How Hessian-vector products are computed (src/analysis/hvp.ts). */
  hvp: HvpMethod;
  /** Relative finite-difference step (for --hvp fd, and the step check). */
  hvpStep: number;
  /** Seed of the random probe and start vectors. */
  seed: number;
}

export const DEFAULT_ANALYZE: AnalyzeOptions = {
  hessian: { topK: 1, trace: true, density: false },
  gap: true,
  sharpness: false,
  geometry: false,
  dynamics: false,
  implicitBias: false,
  lyapunovSteps: 2000,
  points: 1000,
  split: 'train',
  method: 'lanczos',
  tol: DEFAULT_TOL,
  maxIter: DEFAULT_MAX_ITER,
  traceMethod: 'hutch++',
  probes: 60,
  densitySteps: 40,
  densityRuns: 1,
  rho: 0.05,
  epsilon: 1e-3,
  epsilonSteps: 10,
  kernelPoints: 20,
  hvp: 'exact',
  hvpStep: DEFAULT_REL_STEP,
  seed: 0,
};

/** Parses `top-k=K,trace,density` (any subset, any order). */
export function parseHessianSpec(raw: string): HessianRequest {
  const req: HessianRequest = { topK: 0, trace: false, density: false };
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^top-k(?:=(\d+))?$/.exec(part);
    if (m) {
      const k = m[1] === undefined ? 1 : Number(m[1]);
      if (!Number.isInteger(k) || k < 1) throw new UsageError(`--hessian ${part}: k must be a positive integer`);
      req.topK = k;
    } else if (part === 'trace') req.trace = true;
    else if (part === 'density') req.density = true;
    else throw new UsageError(`--hessian: unknown measure "${part}"; expected a comma list of top-k=K, trace, density`);
  }
  if (!req.topK && !req.trace && !req.density) throw new UsageError('--hessian needs at least one of top-k=K, trace, density');
  return req;
}

export interface HessianResult {
  points: number;
  split: Split;
  params: string[];
  dim: number;
  /** Mean loss over the points. */
  loss: number;
  gradNorm: number;
  topK?: { method: string; values: number[]; residuals: number[]; converged: boolean; hvps: number };
  trace?: { method: string; value: number; se: number; hvps: number };
  density?: Density;
  /** Self-check of the products on the top eigenvector (LossSurface.checkHvp): exact, symmetry error; fd, step-doubling change. */
  hvpCheck?: number;
  hvps: number;
  sec: number;
}

export interface GapResult {
  train: EvalResult;
  test: EvalResult;
  /** test loss − train loss. */
  lossGap: number;
  /** train accuracy − test accuracy. */
  accuracyGap: number;
}

export interface SharpnessResult {
  points: number;
  split: Split;
  loss: number;
  /** Keskar et al.: 100 · (max_{z ∈ C_ε} L(θ+z) − L(θ)) / (1 + L(θ)), C_ε = {|z_i| ≤ ε(|θ_i|+1)}. */
  epsilon: { epsilon: number; steps: number; value: number };
  /** SAM (Foret et al.): L(θ + ρ g/‖g‖) − L(θ). */
  sam: { rho: number; value: number };
}

export interface GeometryResult {
  /** ‖W_T − W_0‖_F and its ratio to ‖W_0‖_F, per weight. */
  weightChange?: Record<string, { distance: number; relative: number }>;
  effectiveRank: Record<string, number>;
  participationRatio: Record<string, number>;
  /** ⟨K_T, K_0⟩/(‖K_T‖‖K_0‖) of the class-summed tangent kernels on the first kernelPoints examples. */
  kernelAlignment?: number;
  kernelPoints: number;
}

export interface RunAnalysis {
  runDir: string;
  rule: string;
  model: string;
  dataset: string;
  seed: number;
  step: number;
  backend: string;
  date: string;
  options: AnalyzeOptions;
  hessian?: HessianResult;
  gap?: GapResult;
  sharpness?: SharpnessResult;
  geometry?: GeometryResult;
  dynamics?: DynamicsResult;
  implicitBias?: ImplicitBiasResult;
  wallSec: number;
}

export type Progress = (phase: string) => void;

/** The run's config, last checkpoint, and (when saved) initial parameters. */
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

/** Checks the options against the model before any expensive work. */
export function checkRequest(model: Model, params: Params, opts: AnalyzeOptions): string[] {
  const names = selectParams(model, opts.params);
  const dim = names.reduce((n, k) => n + params[k]!.size, 0);
  const k = opts.hessian?.topK ?? 0;
  if (k > dim) throw new UsageError(`--hessian top-k=${k}: k is larger than the number of parameters analysed (${dim})`);
  if (!Number.isInteger(opts.points) || opts.points < 1) throw new UsageError(`--points must be a positive integer (got ${opts.points})`);
  return names;
}

export function hessianMeasures(surface: LossSurface, req: HessianRequest, opts: AnalyzeOptions, rng: Rng, progress?: Progress): HessianResult {
  const t0 = performance.now();
  surface.relStep = opts.hvpStep;
  surface.method = opts.hvp;
  const start = surface.hvps;
  const { loss, grad } = surface.lossAndGrad();
  const out: HessianResult = {
    points: surface.n,
    split: opts.split,
    params: surface.names,
    dim: surface.dim,
    loss,
    gradNorm: norm(grad),
    hvps: 0,
    sec: 0,
  };
  let top: Vec | undefined;
  if (req.topK > 0) {
    progress?.(`top-${req.topK} eigenvalues (${opts.method})`);
    const hv0 = surface.hvps;
    const r = (opts.method === 'power' ? powerTopK : lanczosTopK)(surface, req.topK, rng, { tol: opts.tol, maxIter: opts.maxIter });
    out.topK = { method: opts.method, values: r.values, residuals: r.residuals, converged: r.converged, hvps: surface.hvps - hv0 };
    top = r.vectors[0];
  }
  if (req.trace) {
    progress?.(`trace (${opts.traceMethod}, ${opts.probes} HVPs)`);
    const t = opts.traceMethod === 'hutchinson' ? hutchinson(surface, opts.probes, rng) : hutchPlusPlus(surface, opts.probes, rng);
    out.trace = { method: opts.traceMethod, value: t.trace, se: t.se, hvps: t.matvecs };
  }
  if (req.density) {
    progress?.(`density (SLQ, ${opts.densityRuns}×${opts.densitySteps} steps)`);
    out.density = slqDensity(surface, rng, { steps: opts.densitySteps, runs: opts.densityRuns });
  }
  if (top) {
    progress?.('HVP self-check');
    out.hvpCheck = surface.checkHvp(top);
  }
  out.hvps = surface.hvps - start;
  out.sec = (performance.now() - t0) / 1000;
  return out;
}

export function gapMeasures(model: Model, params: Params, dataset: Dataset, batchSize = 1000, limit?: number): GapResult {
  const on = (split: Split): EvalResult => {
    if (limit === undefined) return evaluate(model, params, dataset, split, batchSize);
    const s = new LossSurface(model, params, dataset, { split, points: limit }, [], batchSize);
    try {
      return { ...s.evaluate(), n: s.n };
    } finally {
      s.dispose();
    }
  };
  const train = on('train');
  const test = on('test');
  return { train, test, lossGap: test.loss - train.loss, accuracyGap: train.accuracy - test.accuracy };
}

export function sharpnessMeasures(surface: LossSurface, opts: AnalyzeOptions): SharpnessResult {
  const theta = surface.point();
  const { loss, grad } = surface.lossAndGrad();
  // ε-sharpness: projected sign ascent inside the box |z_i| ≤ ε(|θ_i| + 1).
  const bound = Float64Array.from(theta, (t) => opts.epsilon * (Math.abs(t) + 1));
  const z = new Float64Array(theta.length);
  let best = loss;
  for (let s = 0; s < opts.epsilonSteps; s++) {
    const g = s === 0 ? grad : surface.lossAndGrad(z).grad;
    for (let i = 0; i < z.length; i++) {
      const step = z[i]! + (bound[i]! / 2) * Math.sign(g[i]!);
      z[i] = Math.max(-bound[i]!, Math.min(bound[i]!, step));
    }
    best = Math.max(best, surface.evaluate(z).loss);
  }
  return {
    points: surface.n,
    split: opts.split,
    loss,
    epsilon: { epsilon: opts.epsilon, steps: opts.epsilonSteps, value: (100 * (best - loss)) / (1 + loss) },
    sam: { rho: opts.rho, value: samSharpness(surface, opts.rho, { loss, grad }) },
  };
}

/** SAM sharpness L(θ + ρ g/‖g‖) − L(θ): one ascent step to the sphere of radius ρ along the gradient. */
export function samSharpness(surface: LossSurface, rho: number, at = surface.lossAndGrad()): number {
  const gn = norm(at.grad);
  return surface.evaluate(Float64Array.from(at.grad, (g) => (gn > 0 ? (rho * g) / gn : 0))).loss - at.loss;
}

function firstExamples(dataset: Dataset, split: Split, n: number): tf.Tensor {
  const m = Math.min(n, dataset.size(split));
  const b = dataset.batch(split, Int32Array.from({ length: m }, (_, i) => i));
  b.y.dispose();
  b.mask?.dispose();
  return b.x;
}

export function geometryMeasures(run: LoadedRun, names: string[], opts: AnalyzeOptions): GeometryResult {
  const { model, params, init, dataset } = run;
  const weights = names.filter((n) => model.specs[n]?.role === 'weight');
  const effective: Record<string, number> = {};
  for (const w of weights) effective[w] = effectiveRank(params[w]!);
  const x = firstExamples(dataset, opts.split, opts.points);
  const kx = firstExamples(dataset, opts.split, opts.kernelPoints);
  try {
    const out: GeometryResult = {
      effectiveRank: effective,
      participationRatio: hiddenParticipationRatios(model, params, x),
      kernelPoints: kx.shape[0]!,
    };
    if (init) {
      out.weightChange = weightChange(init, params, weights);
      out.kernelAlignment = kernelAlignment(tangentKernel(model, init, kx, names), tangentKernel(model, params, kx, names));
    }
    return out;
  } finally {
    tf.dispose([x, kx]);
  }
}

/** Runs the requested analyses on a run directory's last checkpoint. */
export async function analyzeRun(runDir: string, opts: AnalyzeOptions, progress?: Progress): Promise<RunAnalysis> {
  const t0 = performance.now();
  runDir = resolve(runDir);
  const run = await loadRun(runDir);
  const { config, model, params, dataset } = run;
  try {
    const names = checkRequest(model, params, opts);
    if (opts.implicitBias) checkImplicitBias(model, dataset);
    const result: RunAnalysis = {
      runDir,
      rule: config.rule.name,
      model: config.model.name,
      dataset: config.dataset.name,
      seed: config.seed,
      step: run.step,
      backend: tf.getBackend(),
      date: new Date().toISOString(),
      options: opts,
      wallSec: 0,
    };
    const rng = new Rng(`analyze/${opts.seed}`);
    if (opts.hessian || opts.sharpness) {
      const surface = new LossSurface(model, params, dataset, { split: opts.split, points: opts.points }, names);
      try {
        if (opts.hessian) result.hessian = hessianMeasures(surface, opts.hessian, opts, rng, progress);
        if (opts.sharpness) {
          progress?.('sharpness');
          result.sharpness = sharpnessMeasures(surface, opts);
        }
      } finally {
        surface.dispose();
      }
    }
    if (opts.gap) {
      progress?.('generalization gap');
      result.gap = gapMeasures(model, params, dataset, config.training.evalBatchSize);
    }
    if (opts.geometry) {
      progress?.('geometry');
      result.geometry = geometryMeasures(run, names, opts);
    }
    if (opts.dynamics) {
      progress?.('dynamics');
      const steps = opts.lyapunovSteps;
      result.dynamics = rnnDynamics(model, params, dataset, { split: opts.split, points: opts.points, steps, transient: Math.ceil(steps / 4) }, rng);
    }
    if (opts.implicitBias) {
      progress?.('implicit bias');
      result.implicitBias = implicitBias(model, params, dataset, runDir, progress);
    }
    result.wallSec = (performance.now() - t0) / 1000;
    return result;
  } finally {
    tf.dispose(Object.values(params));
    if (run.init) tf.dispose(Object.values(run.init));
  }
}

export const ANALYSIS_FILE = 'analysis.json';

/** A previous analysis of the run with the same options, if any. */
export function cachedAnalysis(runDir: string, opts: AnalyzeOptions): RunAnalysis | null {
  const path = join(runDir, ANALYSIS_FILE);
  if (!existsSync(path)) return null;
  try {
    const prev = JSON.parse(readFileSync(path, 'utf8')) as RunAnalysis;
    const step = checkpointStep(runDir);
    return JSON.stringify(prev.options) === JSON.stringify(opts) && prev.step === step ? prev : null;
  } catch {
    return null;
  }
}

function checkpointStep(runDir: string): number | null {
  const dir = checkpointDir(runDir);
  if (!dir) return null;
  try {
    return (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { step: number }).step;
  } catch {
    return null;
  }
}

export function saveAnalysis(result: RunAnalysis): void {
  atomicWriteJson(join(result.runDir, ANALYSIS_FILE), result);
}
