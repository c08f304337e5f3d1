/**
 * Curvature of the loss: the Hessian H of the mean loss over the first
 * --points examples (file order) with respect to the chosen parameters, through
 * exact Hessian-vector products (src/analysis/hvp.ts, PyHessian's quantity):
 *
 * - top-k eigenvalues λ_1 ≥ … ≥ λ_k: Lanczos with full re-orthogonalisation, or
 *   power iteration with deflation (PyHessian's method);
 * - trace tr H: Hutch++ (Meyer et al. 2021) or Hutchinson with Rademacher probes,
 *   with a standard error;
 * - eigenvalue density: stochastic Lanczos quadrature (Ghorbani, Krishnan, Xiao 2019);
 * - a self-check of the products on the top eigenvector (exact: symmetry error
 *   ⟨u, Hv⟩ vs ⟨v, Hu⟩; fd: change under step doubling).
 *
 * During training (`--analyze hessian`): λ_max over the first --analyze-points
 * training examples, Lanczos with tolerance 1e-3 and at most 50 products.
 */
import { perGroupFigure, valueScale } from '../src/analysis/report.js';
import { defineAnalysis, type Figure } from '../src/analysis/contract.js';
import type { LossSurface } from '../src/analysis/hvp.js';
import { selectParams } from '../src/analysis/hvp.js';
import { DEFAULT_MAX_ITER, DEFAULT_TOL, hutchinson, hutchPlusPlus, lanczosTopK, powerTopK, slqDensity, type Density } from '../src/analysis/spectrum.js';
import { UsageError } from '../src/errors.js';
import { norm, type Vec } from '../src/linalg.js';
import { option, parse, type OptionsOf } from '../src/options.js';
import { groupColor } from '../src/plots.js';
import type { Rng } from '../src/rng.js';
import { hvpOption, hvpStepOption, onSurface, onTrainingPoints, seedOption, surfaceOptions } from './common.js';

export interface HessianRequest {
  /** Number of top eigenvalues (0: none). */
  topK: number;
  trace: boolean;
  density: boolean;
}

/** Parses `top-k=K,trace,density` (any subset, any order); a bad spec throws what the flag's message goes on to say. */
export function parseHessianSpec(raw: string): HessianRequest {
  const req: HessianRequest = { topK: 0, trace: false, density: false };
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^top-k(?:=(\d+))?$/.exec(part);
    if (m) {
      const k = m[1] === undefined ? 1 : Number(m[1]);
      if (!Number.isInteger(k) || k < 1) throw new Error(`has ${part}, whose k must be a positive integer`);
      req.topK = k;
    } else if (part === 'trace') req.trace = true;
    else if (part === 'density') req.density = true;
    else throw new Error(`has an unknown measure "${part}"; expected a comma list of top-k=K, trace, density`);
  }
  if (!req.topK && !req.trace && !req.density) throw new Error('needs at least one of top-k=K, trace, density');
  return req;
}

const options = [
  option('hessian', '--hessian <measures>', 'comma list of top-k=K, trace, density', 'top-k=1,trace', (raw) => (parseHessianSpec(raw), raw.replace(/\s+/g, ''))),
  ...surfaceOptions,
  option('method', '--method <name>', 'top eigenvalues by lanczos (full re-orthogonalisation) or power (iteration with deflation)', 'lanczos' as 'lanczos' | 'power', parse.choice(['lanczos', 'power'] as const)),
  option('tol', '--tol <t>', 'relative tolerance of the eigenvalue iterations', DEFAULT_TOL, parse.positiveNumber),
  option('maxIter', '--max-iter <n>', 'most Lanczos steps, or power iterations per eigenvalue', DEFAULT_MAX_ITER, parse.positiveInt),
  option('traceMethod', '--trace-method <name>', 'hutch++ or hutchinson (Rademacher probes)', 'hutch++' as 'hutch++' | 'hutchinson', parse.choice(['hutch++', 'hutchinson'] as const)),
  option('probes', '--probes <n>', 'Hessian-vector products spent on the trace', 60, parse.positiveInt),
  option('densitySteps', '--density-steps <n>', 'Lanczos steps per stochastic-Lanczos-quadrature run', 40, parse.positiveInt),
  option('densityRuns', '--density-runs <n>', 'random start vectors averaged for the density', 1, parse.positiveInt),
  hvpOption,
  hvpStepOption,
  seedOption,
] as const;

type HessianOptions = OptionsOf<typeof options>;

export interface HessianResult {
  points: number;
  split: 'train' | 'test';
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

export function hessianMeasures(surface: LossSurface, opts: HessianOptions, rng: Rng, progress?: (phase: string) => void): HessianResult {
  const req = parseHessianSpec(opts.hessian);
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

/** The top-k eigenvalues of every run, by rank (k > 1 only: λ_max alone is in the table). */
function topKFigure(runs: { label: string; group: string; result: HessianResult }[], groups: string[]): Figure | null {
  const values = runs.flatMap(({ label, group, result }) => (result.topK?.values ?? []).map((value, i) => ({ group, run: label, rank: i + 1, value })));
  const k = Math.max(0, ...runs.map((r) => r.result.topK?.values.length ?? 0));
  if (k < 2) return null;
  const scale = valueScale(values.map((v) => v.value));
  return {
    title: `Top ${k} Hessian eigenvalues${runs.length > 1 ? ', each run a line' : ''}`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: Math.max(200, 50 * k),
      height: 240,
      data: { values },
      mark: { type: 'line', point: { filled: true, size: 50 }, strokeWidth: 1.5 },
      encoding: {
        x: { field: 'rank', type: 'ordinal', title: 'rank i', axis: { labelAngle: 0 } },
        y: { field: 'value', type: 'quantitative', title: `λ_i${scale.type === 'linear' ? '' : ` (${scale.type})`}`, scale },
        color: groupColor(groups),
        detail: { field: 'run', type: 'nominal' },
      },
    },
  };
}

function densitySpec(runs: { label: string; group: string; result: HessianResult }[], groups: string[]): Figure | null {
  const values = runs.flatMap(({ label, group, result }) => {
    const d = result.density;
    if (!d) return [];
    return d.grid.map((x, i) => ({ group, run: label, eigenvalue: x, density: Math.max(d.density[i]!, 1e-8) }));
  });
  if (!values.length) return null;
  return {
    title: 'Hessian eigenvalue density (stochastic Lanczos quadrature)',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 520,
      height: 300,
      data: { values },
      mark: { type: 'line', strokeWidth: 1.2 },
      encoding: {
        x: { field: 'eigenvalue', type: 'quantitative', title: 'eigenvalue' },
        y: { field: 'density', type: 'quantitative', title: 'density (log scale, floor 1e-8)', scale: { type: 'log' } },
        color: groupColor(groups),
        detail: { field: 'run', type: 'nominal' },
      },
    },
  };
}

export const hessian = defineAnalysis({
  name: 'hessian',
  key: 'hessian',
  description: 'loss Hessian: top-k eigenvalues (Lanczos or power), trace (Hutch++), eigenvalue density (SLQ); in training, λ_max (and the trace with --analyze-trace) over the first --analyze-points examples',
  reference: 'PyHessian (Yao et al. 2020); Meyer et al. 2021 (Hutch++); Ghorbani et al. 2019 (SLQ)',
  requires: ['differentiable'],
  selection: 'default',
  selector: 'hessian',
  options,
  check(model, _dataset, o) {
    const names = selectParams(model, o.params ?? undefined);
    const dim = names.reduce((n, k) => n + model.specs[k]!.shape.reduce((a, b) => a * b, 1), 0);
    const k = parseHessianSpec(o.hessian).topK;
    if (k > dim) throw new UsageError(`--hessian top-k=${k}: k is larger than the number of parameters analysed (${dim})`);
  },
  run: (ctx, o) => onSurface(ctx, o, (s) => hessianMeasures(s, o, ctx.rng, ctx.progress)),
  measure: (ctx) =>
    onTrainingPoints(ctx, (s) => {
      const r = lanczosTopK(s, 1, ctx.rng, { tol: 1e-3, maxIter: 50 });
      return { lambdaMax: r.values[0]!, lambdaMaxConverged: r.converged, ...(ctx.traceProbes > 0 ? { trace: hutchPlusPlus(s, ctx.traceProbes, ctx.rng).trace } : {}) };
    }),
  columns: [
    { key: 'lambdaMax', title: 'λ_max', digits: 3 },
    { key: 'trace', title: 'trace', digits: 2 },
  ],
  numbers: (r: HessianResult) => ({ ...(r.topK ? { lambdaMax: r.topK.values[0]! } : {}), ...(r.trace ? { trace: r.trace.value } : {}) }),
  brief: (r: HessianResult) => ({ ...r, density: undefined }),
  setting(_a, r, o) {
    const check = r.hvpCheck !== undefined ? `, HVP ${o.hvp === 'exact' ? 'symmetry error' : 'step-doubling change'} ${r.hvpCheck.toExponential(1)}` : '';
    return `Hessian of the mean loss over the first ${r.points} ${r.split} examples (file order), ${r.dim.toLocaleString('en-US')} parameters (${o.params ? r.params.join(', ') : 'all trainable'}); ${o.method} tol ${o.tol}, trace by ${o.traceMethod} with ${o.probes} HVPs; ${r.hvps} HVPs per run${check}.`;
  },
  text(a, r: HessianResult, labelled) {
    const values = r.topK?.values ?? [];
    if (values.length < 2) return null;
    return `${labelled ? `${a.group}-s${a.seed}: ` : ''}top-${values.length} Hessian eigenvalues ${values.map((v) => v.toPrecision(4)).join(', ')}\n`;
  },
  figures(runs, groups) {
    const labelled = runs.map(({ analysis, result }) => ({ label: `${analysis.group}-s${analysis.seed}`, group: analysis.group, seed: analysis.seed, diverged: analysis.diverged === true, result }));
    const out: Figure[] = [];
    const density = densitySpec(labelled, groups);
    if (density) out.push(density);
    const topK = topKFigure(labelled, groups);
    if (topK) out.push(topK);
    const lmax = perGroupFigure(labelled.map((r) => ({ group: r.group, seed: r.seed, value: r.result.topK?.values[0] ?? NaN, diverged: r.diverged })), groups, 'Top Hessian eigenvalue', 'λ_max');
    if (lmax) out.push(lmax);
    const trace = perGroupFigure(labelled.map((r) => ({ group: r.group, seed: r.seed, value: r.result.trace?.value ?? NaN, diverged: r.diverged })), groups, 'Hessian trace', 'trace');
    if (trace) out.push(trace);
    return out;
  },
  overTraining(runs, groups) {
    const values = runs.flatMap((r) => r.records.filter((h) => Number.isFinite(h['lambdaMax'])).map((h) => ({ group: r.group, seed: r.seed, epoch: h.epoch, lambdaMax: h['lambdaMax'] })));
    if (!values.length) return null;
    return {
      title: 'Top Hessian eigenvalue over training (recorded by --analyze-every)',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 520,
        height: 280,
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
          y: { aggregate: 'mean', field: 'lambdaMax', type: 'quantitative', title: 'λ_max (mean over seeds)' },
          color: groupColor(groups),
        },
      },
    };
  },
});
