/**
 * Evolution strategies: fitness shaping against hand values; the antithetic
 * estimate's exact symmetry; on a quadratic, OpenAI-ES's estimate against the
 * true gradient (with raw fitness it is unbiased: E ĝ = ∇L), and CMA-ES,
 * sep-CMA-ES and SNES reaching the minimum of ellipsoids; member noise as a
 * pure function of (generation seed, member); then the rule in the trainer:
 * seeded runs identical, exact resume with every strategy's state, and
 * one-line refusals.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memberNoise, STRATEGIES } from '../../rules/es.js';
import { shape } from '../../rules/es/shaping.js';
import type { StrategySettings } from '../../rules/es/strategy.js';
import { readParamsDir } from '../../src/checkpoint.js';
import { resume, train } from '../../src/trainer.js';
import { datasets } from '../../src/registries.js';
import { oneLineError, runCli, teacherDataset, tempDir, timeless } from '../helpers.js';

const SETTINGS: StrategySettings = { sigma: 0.1, sigmaDecay: 1, sigmaMin: 0, sigmaLr: 0.1, meanLr: 1 };

/** Runs a strategy on f from x0 for `generations`, in double precision; returns the best fitness seen at the mean. */
function minimise(name: string, f: (x: Float64Array) => number, x0: Float64Array, population: number, generations: number, settings: StrategySettings): number {
  const strategy = STRATEGIES[name]!;
  const d = x0.length;
  const s = { ...settings, ...strategy.defaults(d), sigma: settings.sigma };
  let state = strategy.init(d, s);
  const mean = Float64Array.from(x0);
  const y = new Float64Array(d);
  for (let g = 0; g < generations; g++) {
    const noise = Array.from({ length: population }, (_, i) => memberNoise(g, i, d));
    const fitness = Float64Array.from(noise, (z) => {
      strategy.perturb(state, z, y);
      return f(mean.map((m, j) => m + y[j]!));
    });
    const told = strategy.tell(state, { mean, noise, pairs: false, fitness, shaped: shape(fitness, strategy.shaping ?? 'raw'), generation: g }, s);
    if (told.step.kind !== 'delta') throw new Error('expected a strategy that moves its mean');
    mean.forEach((m, j) => (mean[j] = m + (told.step as { delta: Float64Array }).delta[j]!));
    state = told.state;
  }
  return f(mean);
}

/** A random rotation of R^d (Gram-Schmidt on Gaussian columns), row-major. */
function rotation(d: number): Float64Array {
  const cols: Float64Array[] = [];
  for (let k = 0; k < d; k++) {
    const v = Float64Array.from(memberNoise(99, k, d));
    for (const c of cols) {
      const dot = c.reduce((a, x, j) => a + x * v[j]!, 0);
      c.forEach((x, j) => (v[j]! -= dot * x));
    }
    const n = Math.hypot(...v);
    cols.push(v.map((x) => x / n));
  }
  return Float64Array.from({ length: d * d }, (_, k) => cols[k % d]![Math.floor(k / d)]!);
}

describe('fitness shaping', () => {
  const F = [3, 1, 2, 2];
  it('centered ranks: rank/(P − 1) − ½, ties broken by member index', () => {
    const got = shape(F, 'centered-rank');
    [0.5, -0.5, -1 / 6, 1 / 6].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 15));
  });
  it('NES utilities: log-rank weights on the better half, minus 1/P, negated (larger = worse)', () => {
    // P = 4: max(0, ln 3 − ln k) for k = 1…4 is ln 3, ln 1.5, 0, 0.
    const total = Math.log(3) + Math.log(1.5);
    const u = [Math.log(3) / total - 0.25, Math.log(1.5) / total - 0.25, -0.25, -0.25];
    const got = shape(F, 'nes-utilities');
    [-u[3]!, -u[0]!, -u[1]!, -u[2]!].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 14));
    expect(got.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 14);
  });
  it('z-score and raw', () => {
    const z = shape(F, 'z-score');
    [Math.SQRT2, -Math.SQRT2, 0, 0].forEach((v, i) => expect(z[i]).toBeCloseTo(v, 14));
    expect(Array.from(shape([5, 5, 5], 'z-score'))).toEqual([0, 0, 0]);
    expect(Array.from(shape(F, 'raw'))).toEqual(F);
  });
});

describe('OpenAI-ES estimate', () => {
  const d = 16;
  // L(θ) = ½ θᵀAθ + bᵀθ with A diagonal 1…16: ∇L = Aθ + b.
  const A = Float64Array.from({ length: d }, (_, j) => j + 1);
  const b = Float64Array.from({ length: d }, (_, j) => Math.cos(j));
  const L = (x: Float64Array) => x.reduce((a, v, j) => a + 0.5 * A[j]! * v * v + b[j]! * v, 0);
  const theta = Float64Array.from({ length: d }, (_, j) => Math.sin(3 * j));
  const grad = theta.map((v, j) => A[j]! * v + b[j]!);

  /** ĝ over `pairs` antithetic pairs with the given shaping. */
  const estimate = (pairs: number, how: 'raw' | 'centered-rank', swap = false) => {
    const base = Array.from({ length: pairs }, (_, k) => memberNoise(7, k, d));
    const noise = base.flatMap((z) => [z, z.map((v) => -v)]);
    const state = STRATEGIES['openai']!.init(d, SETTINGS);
    const y = new Float64Array(d);
    const fitness = Float64Array.from(noise, (z) => {
      STRATEGIES['openai']!.perturb(state, z, y);
      return L(theta.map((t, j) => t + y[j]!));
    });
    if (swap) for (let k = 0; k < pairs; k++) [fitness[2 * k], fitness[2 * k + 1]] = [fitness[2 * k + 1]!, fitness[2 * k]!];
    const told = STRATEGIES['openai']!.tell(state, { mean: theta, noise, pairs: true, fitness, shaped: shape(fitness, how), generation: 0 }, SETTINGS);
    return (told.step as { gradient: Float64Array }).gradient;
  };
  const cos = (a: Float64Array, c: Float64Array) => a.reduce((s, v, j) => s + v * c[j]!, 0) / (Math.hypot(...a) * Math.hypot(...c));

  it('is exactly antisymmetric in each pair: swapping every pair’s fitness negates it', () => {
    const g = estimate(8, 'raw');
    const swapped = estimate(8, 'raw', true);
    g.forEach((v, j) => expect(swapped[j]).toBe(-v));
  });

  it('is unbiased with raw fitness (E ĝ = ∇L on a quadratic) and points along ∇L with ranks', () => {
    const raw = estimate(20000, 'raw');
    expect(cos(raw, grad)).toBeGreaterThan(0.99);
    expect(Math.hypot(...raw) / Math.hypot(...grad)).toBeCloseTo(1, 1);
    expect(cos(estimate(20000, 'centered-rank'), grad)).toBeGreaterThan(0.9);
    expect(cos(estimate(4, 'raw'), grad)).toBeLessThan(0.9);
  });
});

describe('strategies that move their mean', () => {
  it('CMA-ES reaches the minimum of a rotated ellipsoid (d 10, condition 10⁶)', () => {
    const d = 10;
    const R = rotation(d);
    const f = (x: Float64Array) => {
      let s = 0;
      for (let i = 0; i < d; i++) {
        let r = 0;
        for (let j = 0; j < d; j++) r += R[i * d + j]! * x[j]!;
        s += 10 ** ((6 * i) / (d - 1)) * r * r;
      }
      return s;
    };
    const x0 = new Float64Array(d).fill(1);
    expect(f(x0)).toBeGreaterThan(1e4);
    expect(minimise('cma-es', f, x0, 10, 1500, { ...SETTINGS, sigma: 0.5 })).toBeLessThan(1e-8);
  });

  it('sep-CMA-ES reaches the minimum of an axis-aligned ellipsoid (d 20)', () => {
    const d = 20;
    const f = (x: Float64Array) => x.reduce((a, v, i) => a + 10 ** ((4 * i) / (d - 1)) * v * v, 0);
    expect(minimise('sep-cma-es', f, new Float64Array(d).fill(1), 12, 1500, { ...SETTINGS, sigma: 0.5 })).toBeLessThan(1e-8);
  });

  it('SNES reaches the minimum of a sphere (d 20)', () => {
    const d = 20;
    const f = (x: Float64Array) => x.reduce((a, v) => a + v * v, 0);
    expect(minimise('snes', f, new Float64Array(d).fill(1), 16, 1500, { ...SETTINGS, sigma: 0.5 })).toBeLessThan(1e-8);
  });
});

describe('member noise', () => {
  it('is a pure function of (generation seed, member): regenerated exactly, different across members and seeds', () => {
    const a = memberNoise(123, 5, 1000);
    expect(Array.from(memberNoise(123, 5, 1000))).toEqual(Array.from(a));
    expect(Array.from(memberNoise(123, 6, 1000))).not.toEqual(Array.from(a));
    expect(Array.from(memberNoise(124, 5, 1000))).not.toEqual(Array.from(a));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(variance).toBeGreaterThan(0.85);
    expect(variance).toBeLessThan(1.15);
  });
});

const read = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('rule es in the trainer', () => {
  const base = { dataset: 'mnist-mini', model: 'mlp', modelOptions: { hidden: [8] }, rule: 'es', batchSize: 16, evalBatchSize: 500, steps: 6, evalEvery: 3, checkpointEvery: 2, logEvery: 1, seed: 3 };

  it.each([
    ['openai', {}],
    ['pgpe', {}],
    ['snes', {}],
    ['sep-cma-es', {}],
    ['openai', { esFitness: 'accuracy', l2: 0.01, esOptimizer: 'clipup' }],
  ])('%s %j resumes exactly mid-training and repeats itself for a seed', async (strategy, extra) => {
    const spec = { ...base, ruleOptions: { strategy, population: 12, chunk: 5, ...extra } };
    const [straight, again, split] = [tempDir(), tempDir(), tempDir()];
    await train(spec, { out: straight });
    await train(spec, { out: again });
    expect(timeless(read(again))).toEqual(timeless(read(straight)));
    const controller = new AbortController();
    const cut = await train(spec, { out: split, signal: controller.signal, reporter: { progress: (p) => p.step === 3 && controller.abort() } });
    expect(cut.status).toBe('interrupted');
    await resume(split);
    expect(timeless(read(split))).toEqual(timeless(read(straight)));
    const [a, b] = [straight, split].map((d) => readParamsDir(join(d, 'checkpoint')).params);
    for (const k of Object.keys(a!)) expect(Array.from(b![k]!.dataSync()), k).toEqual(Array.from(a![k]!.dataSync()));
    const metrics = read(straight).find((r) => r.type === 'train').metrics;
    expect(metrics.bestFitness).toBeLessThanOrEqual(metrics.meanFitness);
    expect(metrics.sigmaMin).toBeLessThanOrEqual(metrics.sigmaMax);
    expect(Math.abs(metrics.gradientCosine)).toBeLessThanOrEqual(1);
  });

  it('trains full CMA-ES on a model small enough for its covariance (84 parameters)', async () => {
    if (!datasets.has('es-teacher')) datasets.register({ name: 'es-teacher', description: 'test teacher-student data', load: async () => teacherDataset('es') });
    const dir = tempDir();
    await train({ ...base, dataset: 'es-teacher', modelOptions: { hidden: [] }, ruleOptions: { strategy: 'cma-es', population: 12, sigma: 0.3 }, batchSize: 128, steps: 60, evalEvery: 60 }, { out: dir });
    const evals = read(dir).filter((r) => r.type === 'eval');
    expect(evals.at(-1).test.loss).toBeLessThan(0.7 * evals[0].test.loss);
  });

  const small = ['--dataset', 'mnist-mini', '--model', 'mlp', '--hidden', '8', '--rule', 'es'];
  it.each([
    [[...small, '--population', '1'], /^biocredit: error: --population must be at least 2$/],
    [[...small, '--sigma', '0'], /^biocredit: error: --sigma must be a positive number, got "0"$/],
    [[...small, '--strategy', 'cma-es'], /^biocredit: error: --strategy cma-es keeps a full 6370×6370 covariance; model mlp trains 6370 parameters \(at most 500 here\): use --strategy sep-cma-es$/],
    [[...small, '--strategy', 'pgpe', '--antithetic', 'off'], /^biocredit: error: --strategy pgpe is defined on antithetic pairs; drop --antithetic off$/],
    [[...small, '--strategy', 'snes', '--l2', '0.1'], /^biocredit: error: --l2 applies to the gradient-estimating strategies \(openai, pgpe\), not --strategy snes$/],
    [[...small, '--lr', '0.1'], /^biocredit: error: --lr does not apply to rule es: it applies its own updates, with no optimizer$/],
  ])('refuses %j in one line', (args, pattern) => {
    const out = join(tempDir(), 'never');
    const r = runCli(['train', ...args, '--steps', '1', '--out', out]);
    expect(r.code).toBe(2);
    oneLineError(r, pattern);
    expect(existsSync(out)).toBe(false);
  });
});
