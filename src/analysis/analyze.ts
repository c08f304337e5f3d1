/**
 * Analysis of trained runs: runs the chosen analyses (the `analyses` registry)
 * on a run directory's last checkpoint and stores the results in the run's
 * analysis.json, each under its analysis' key. Every requirement and option is
 * checked for all chosen analyses before any of them starts. Each analysis gets
 * a fresh random stream `analyze/<seed>`, so its numbers do not depend on which
 * other analyses ran before it.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkRequirements } from '../capabilities.js';
import { atomicWriteJson, checkpointDir } from '../checkpoint.js';
import { UsageError } from '../errors.js';
import { analyses } from '../registries.js';
import { Rng } from '../rng.js';
import { loadRun } from '../run.js';
import type { ResolvedOptions } from '../types.js';
import type { AnalysisEntry, RunAnalysis } from './contract.js';

/** The analyses to run, by name, each with its resolved options (registry order). */
export type AnalyzeRequest = Record<string, ResolvedOptions>;

export const ANALYSIS_FILE = 'analysis.json';

/** The chosen entries in registry order. */
export function requested(request: AnalyzeRequest): AnalysisEntry[] {
  for (const name of Object.keys(request)) analyses.get(name);
  return analyses.entries().filter((e) => request[e.name] !== undefined);
}

/** Runs the requested analyses on a run directory's last checkpoint. `group` labels the run in a comparison. */
export async function analyzeRun(runDir: string, request: AnalyzeRequest, progress: (phase: string) => void = () => {}, group?: string): Promise<RunAnalysis> {
  const t0 = performance.now();
  runDir = resolve(runDir);
  const entries = requested(request);
  const run = await loadRun(runDir);
  const { config, model, params, dataset } = run;
  try {
    for (const e of entries) {
      if (!e.run) throw new UsageError(`analysis ${e.name} records during training only (train --analyze ${e.name} --analyze-every N)`);
      checkRequirements(`analysis ${e.name}`, e.requires, model);
      e.check?.(model, dataset, request[e.name]!);
    }
    const result: RunAnalysis = {
      runDir,
      rule: config.rule.name,
      group: group ?? config.rule.name,
      model: config.model.name,
      dataset: config.dataset.name,
      seed: config.seed,
      step: run.step,
      backend: tf.getBackend(),
      date: new Date().toISOString(),
      options: request,
      wallSec: 0,
    };
    for (const e of entries) {
      const opts = request[e.name]!;
      progress(e.name);
      result[e.key] = e.run!(
        {
          runDir,
          model,
          dataset,
          params,
          init: run.init,
          evalBatchSize: config.training.evalBatchSize,
          rng: new Rng(`analyze/${typeof opts['seed'] === 'number' ? opts['seed'] : 0}`),
          progress: (phase) => progress(`${e.name}: ${phase}`),
        },
        opts,
      );
    }
    result.wallSec = (performance.now() - t0) / 1000;
    return result;
  } finally {
    tf.dispose(Object.values(params));
    if (run.init) tf.dispose(Object.values(run.init));
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

/** A previous analysis of the run with the same request at the same checkpoint, if any. */
export function cachedAnalysis(runDir: string, request: AnalyzeRequest): RunAnalysis | null {
  const path = join(runDir, ANALYSIS_FILE);
  if (!existsSync(path)) return null;
  try {
    const prev = JSON.parse(readFileSync(path, 'utf8')) as RunAnalysis;
    return JSON.stringify(prev.options) === JSON.stringify(request) && prev.step === checkpointStep(runDir) ? prev : null;
  } catch {
    return null;
  }
}

export function saveAnalysis(result: RunAnalysis): void {
  atomicWriteJson(join(result.runDir, ANALYSIS_FILE), result);
}
