/**
 * --analyze-params: the curvature recorded during training restricted to some
 * parameters equals the top eigenvalue of that block of the Hessian computed
 * afresh on the final weights, and lies below the whole Hessian's (Cauchy
 * interlacing: a principal submatrix's largest eigenvalue cannot exceed the
 * matrix's).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LossSurface } from '../../src/analysis/hvp.js';
import { lanczosTopK } from '../../src/analysis/spectrum.js';
import type { TrainSpec } from '../../src/config.js';
import { Rng } from '../../src/rng.js';
import { loadRun } from '../../src/run.js';
import { train } from '../../src/trainer.js';
import { tempDir } from '../helpers.js';

const SPEC: TrainSpec = { dataset: 'mnist-mini', datasetOptions: { trainSize: 300 }, model: 'mlp', modelOptions: { hidden: [12] }, steps: 12, batchSize: 50, analyze: 'hessian', analyzeEvery: 6, analyzePoints: 60, seed: 3, logEvery: 0, diagEvery: 0 };

const lambdas = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"type":"analysis"'))
    .map((l) => JSON.parse(l) as { step: number; lambdaMax: number });

describe('--analyze-params', () => {
  it('records λ_max of the chosen block: the final record matches a fresh Lanczos on it, below the whole Hessian', async () => {
    const block = tempDir();
    const whole = tempDir();
    await train({ ...SPEC, analyzeParams: 'l1/W' }, { out: block });
    await train(SPEC, { out: whole });
    const b = lambdas(block);
    const w = lambdas(whole);
    expect(b.map((r) => r.step)).toEqual([0, 6, 12]);
    b.forEach((r, i) => expect(r.lambdaMax).toBeLessThanOrEqual(w[i]!.lambdaMax * (1 + 1e-3)));
    const run = await loadRun(block);
    const surface = new LossSurface(run.model, run.params, run.dataset, { split: 'train', points: 60 }, ['l1/W']);
    try {
      const fresh = lanczosTopK(surface, 1, new Rng('fresh'), { tol: 1e-9, maxIter: 120 }).values[0]!;
      expect(Math.abs(b.at(-1)!.lambdaMax - fresh) / fresh).toBeLessThan(1e-2);
    } finally {
      surface.dispose();
    }
  });

  it('refuses a glob that matches no trainable parameter before the first step', async () => {
    await expect(train({ ...SPEC, analyzeParams: 'l9/W' }, { out: tempDir() })).rejects.toThrow(/^--analyze-params l9\/W matches no trainable parameter; the model has: l0\/W/);
  });
});
