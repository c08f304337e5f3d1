/**
 * Analysis of trained runs: runs the chosen analyses (the `analyses` registry)
 * on a run directory's last checkpoint. Results accumulate in the run's
 * analysis.json: each is stored under its analysis' key with the options and
 * the checkpoint step it was computed from, reused while both match, computed
 * again when either differs, and kept when other analyses run later. Every
 * requirement and option is checked for all chosen analyses before any of them
 * starts. Each analysis gets a fresh random stream `analyze/<seed>`, so its
 * numbers do not depend on which other analyses ran before it.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkRequirements } from '../capabilities.js';
import { atomicWriteJson } from '../checkpoint.js';
import { UsageError } from '../errors.js';
import { lockDir } from '../lock.js';
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

export interface AnalyzeRunOptions {
  progress?: (phase: string) => void;
  /** The run's label in a comparison (default: its rule). */
  group?: string;
  /** Compute the requested analyses again even where stored results match. */
  force?: boolean;
  /** Whether the run finished (analysis.json records it; the tables mark unfinished runs). */
  finished?: boolean;
  /** Whether its training diverged (the tables and figures mark it). */
  diverged?: boolean;
}

/** The stored analyses of a run, if they are of the checkpoint at `step` (older results describe other weights). */
function stored(runDir: string, step: number): RunAnalysis | null {
  const path = join(runDir, ANALYSIS_FILE);
  if (!existsSync(path)) return null;
  try {
    const prev = JSON.parse(readFileSync(path, 'utf8')) as RunAnalysis;
    return prev.step === step && prev.measures ? prev : null;
  } catch {
    return null;
  }
}

/**
 * Runs the requested analyses on a run directory's last checkpoint, with the
 * directory locked, and saves the accumulated results in its analysis.json.
 */
export async function analyzeRun(runDir: string, request: AnalyzeRequest, options: AnalyzeRunOptions = {}): Promise<RunAnalysis> {
  const t0 = performance.now();
  runDir = resolve(runDir);
  const progress = options.progress ?? (() => {});
  const entries = requested(request);
  const lock = lockDir(runDir);
  try {
    const run = await loadRun(runDir);
    const { config, model, params, dataset } = run;
    try {
      for (const e of entries) {
        if (!e.run) throw new UsageError(`analysis ${e.name} records during training only (train --analyze ${e.name} --analyze-every N)`);
        checkRequirements(`analysis ${e.name}`, e.requires, model);
        e.check?.(model, dataset, request[e.name]!);
      }
      const prev = stored(runDir, run.step);
      const result: RunAnalysis = {
        ...(prev ?? {}),
        runDir,
        rule: config.rule.name,
        group: options.group ?? config.rule.name,
        model: config.model.name,
        dataset: config.dataset.name,
        seed: config.seed,
        step: run.step,
        finished: options.finished ?? prev?.finished ?? true,
        diverged: options.diverged ?? prev?.diverged ?? false,
        measures: { ...(prev?.measures ?? {}) },
        wallSec: 0,
      };
      const others = Object.keys(result.measures).filter((name) => !entries.some((e) => e.name === name));
      if (others.length) progress(`${others.join(', ')}: kept from ${ANALYSIS_FILE} (computed earlier, step ${run.step})`);
      for (const e of entries) {
        const opts = request[e.name]!;
        const kept = result.measures[e.name];
        if (!options.force && kept && result[e.key] !== undefined && JSON.stringify(kept.options) === JSON.stringify(opts)) {
          progress(`${e.name}: kept from ${ANALYSIS_FILE} (same options, step ${run.step})`);
          continue;
        }
        progress(e.name);
        const started = performance.now();
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
        result.measures[e.name] = { options: opts, date: new Date().toISOString(), backend: tf.getBackend(), sec: (performance.now() - started) / 1000 };
      }
      result.wallSec = (performance.now() - t0) / 1000;
      atomicWriteJson(join(runDir, ANALYSIS_FILE), result);
      return result;
    } finally {
      tf.dispose(Object.values(params));
      if (run.init) tf.dispose(Object.values(run.init));
    }
  } finally {
    lock.release();
  }
}
