/**
 * Summaries of analyses: per-rule statistics over seeds for a compare
 * directory, the terminal table, and analysis.html (Hessian density, λ_max and
 * generalization gap per rule, λ_max over training when hooks recorded it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as vl from 'vega-lite';
import { stat, type Stat } from '../compare.js';
import { renderSvg, ruleColor } from '../report.js';
import type { RunAnalysis } from './analyze.js';

type Spec = vl.TopLevelSpec;

/** The numbers a table row shows, per run. */
export function runNumbers(a: RunAnalysis): Record<string, number> {
  const out: Record<string, number> = {};
  if (a.hessian?.topK) out['lambdaMax'] = a.hessian.topK.values[0]!;
  if (a.hessian?.trace) out['trace'] = a.hessian.trace.value;
  if (a.gap) {
    out['lossGap'] = a.gap.lossGap;
    out['accuracyGap'] = a.gap.accuracyGap;
    out['testAccuracy'] = a.gap.test.accuracy;
  }
  if (a.sharpness) {
    out['epsilonSharpness'] = a.sharpness.epsilon.value;
    out['samSharpness'] = a.sharpness.sam.value;
  }
  if (a.dynamics) {
    out['spectralRadius'] = a.dynamics.spectralRadius;
    out['lyapunov'] = a.dynamics.lyapunov.perSecond;
    out['activityPR'] = a.dynamics.participationRatio;
  }
  if (a.implicitBias) {
    const ib = a.implicitBias;
    out['gdTestError'] = ib.gd.testError;
    out['mmTestError'] = ib.maxMargin.testError;
    out['mmInconsistency'] = ib.maxMargin.inconsistency;
    out['marginRatio'] = ib.gd.normalizedMargin / ib.maxMargin.normalizedMargin;
    if (ib.l2) {
      out['l2TestError'] = ib.l2.testError;
      out['l2Inconsistency'] = ib.l2.inconsistency;
    }
  }
  if (a.geometry?.kernelAlignment !== undefined) out['kernelAlignment'] = a.geometry.kernelAlignment;
  if (a.geometry) {
    const prs = Object.values(a.geometry.participationRatio);
    if (prs.length) out['meanParticipationRatio'] = prs.reduce((x, y) => x + y, 0) / prs.length;
  }
  return out;
}

export interface RuleAnalysis {
  rule: string;
  runs: number;
  stats: Record<string, Stat>;
}

export function aggregate(analyses: RunAnalysis[], rules: string[]): RuleAnalysis[] {
  return rules.map((rule) => {
    const mine = analyses.filter((a) => a.rule === rule).map(runNumbers);
    const keys = [...new Set(mine.flatMap((m) => Object.keys(m)))];
    return { rule, runs: mine.length, stats: Object.fromEntries(keys.map((k) => [k, stat(mine.map((m) => m[k] ?? NaN).filter(Number.isFinite))])) };
  });
}

export const COLUMNS: { key: string; title: string; digits: number; scale?: number }[] = [
  { key: 'lambdaMax', title: 'λ_max', digits: 3 },
  { key: 'trace', title: 'trace', digits: 2 },
  { key: 'lossGap', title: 'loss gap', digits: 4 },
  { key: 'accuracyGap', title: 'acc gap (pts)', digits: 2, scale: 100 },
  { key: 'epsilonSharpness', title: 'ε-sharpness', digits: 3 },
  { key: 'samSharpness', title: 'SAM sharpness', digits: 4 },
  { key: 'meanParticipationRatio', title: 'mean PR', digits: 2 },
  { key: 'kernelAlignment', title: 'kernel align', digits: 3 },
  { key: 'spectralRadius', title: 'ρ(J)', digits: 3 },
  { key: 'lyapunov', title: 'λ_Lyap (1/s)', digits: 2 },
  { key: 'activityPR', title: 'activity PR', digits: 2 },
  { key: 'gdTestError', title: 'GD test err %', digits: 2, scale: 100 },
  { key: 'mmTestError', title: 'max-margin err %', digits: 2, scale: 100 },
  { key: 'mmInconsistency', title: 'inconsist. %', digits: 2, scale: 100 },
  { key: 'l2TestError', title: 'L2 err %', digits: 2, scale: 100 },
  { key: 'l2Inconsistency', title: 'L2 inconsist. %', digits: 2, scale: 100 },
  { key: 'marginRatio', title: 'γ_GD/γ*', digits: 3 },
];

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
/** Numbers read back from JSON may be null where they were NaN (no max-margin predictor exists). */
const sci = (v: number | null) => (v !== null && Number.isFinite(v) ? v.toExponential(3) : '—');

/** The implicit-bias table of one run, as the paper reports it (test error, inconsistency with GD). */
export function implicitBiasText(a: RunAnalysis, labelled: boolean): string {
  const ib = a.implicitBias!;
  const rows: string[][] = [['predictor', 'train err', 'test err', 'inconsistency', 'γ (normalized margin)', 'cos(β, β_GD)', 'duality gap']];
  rows.push(['gradient descent', pct(ib.gd.trainError), pct(ib.gd.testError), '—', sci(ib.gd.normalizedMargin), '1', '—']);
  const line = (name: string, p: NonNullable<typeof ib.l2>) =>
    rows.push([
      name + (p.separable ? (p.converged ? '' : ' (not converged)') : ' (data not separable)'),
      pct(p.trainError),
      pct(p.testError),
      pct(p.inconsistency),
      sci(p.normalizedMargin),
      p.cosine.toFixed(3),
      p.separable ? `${(((p.objective - p.lowerBound) / p.objective) * 100).toFixed(2)}%` : '—',
    ]);
  line(ib.kind === 'deep' ? 'group-norm max margin' : 'SVM per context', ib.maxMargin);
  if (ib.l2) line('L2 max margin', ib.l2);
  const head = `${labelled ? `${a.rule}-s${a.seed}: ` : ''}implicit bias, ${ib.kind} GLN, ${ib.units} unit${ib.units > 1 ? 's' : ''} × ${ib.contexts} contexts, ${ib.trainPoints} training / ${ib.testPoints} test points`;
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  const body = rows.map((r) => r.map((c, j) => c.padEnd(widths[j]!)).join('  ').trimEnd()).join('\n');
  return `${head}\n${body}\n`;
}

const fmt = (s: Stat | undefined, digits: number, scale = 1) =>
  !s || !s.n ? '—' : s.n > 1 ? `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)}` : (s.mean * scale).toFixed(digits);

/** Header + rows: one row per rule (mean ± std over seeds), only the columns that have numbers. */
export function analysisRows(rules: RuleAnalysis[], label = 'rule'): string[][] {
  const cols = COLUMNS.filter((c) => rules.some((r) => r.stats[c.key]?.n));
  return [[label, 'runs', ...cols.map((c) => c.title)], ...rules.map((r) => [r.rule, String(r.runs), ...cols.map((c) => fmt(r.stats[c.key], c.digits, c.scale))])];
}

interface HookRecord {
  type: 'analysis';
  step: number;
  epoch: number;
  lambdaMax?: number;
  lossGap?: number;
}

function hookRecords(runDir: string): HookRecord[] {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"analysis"'))
    .map((l) => JSON.parse(l) as HookRecord)
    .filter((r) => r.type === 'analysis');
}

/** λ_max over training from the hook records of each run (null when none were recorded). */
export function lambdaOverTrainingSpec(runs: { rule: string; seed: number; dir: string }[], rules: string[]): Spec | null {
  const values = runs.flatMap((r) =>
    hookRecords(r.dir)
      .filter((h) => Number.isFinite(h.lambdaMax))
      .map((h) => ({ rule: r.rule, seed: r.seed, epoch: h.epoch, lambdaMax: h.lambdaMax })),
  );
  if (!values.length) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 520,
    height: 280,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { aggregate: 'mean', field: 'lambdaMax', type: 'quantitative', title: 'λ_max (mean over seeds)' },
      color: ruleColor(rules),
    },
  };
}

function densitySpec(analyses: RunAnalysis[], rules: string[]): Spec | null {
  const values = analyses.flatMap((a) => {
    const d = a.hessian?.density;
    if (!d) return [];
    return d.grid.map((x, i) => ({ rule: a.rule, run: `${a.rule}-s${a.seed}`, eigenvalue: x, density: Math.max(d.density[i]!, 1e-8) }));
  });
  if (!values.length) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 520,
    height: 300,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.2 },
    encoding: {
      x: { field: 'eigenvalue', type: 'quantitative', title: 'eigenvalue' },
      y: { field: 'density', type: 'quantitative', title: 'density (log scale, floor 1e-8)', scale: { type: 'log' } },
      color: ruleColor(rules),
      detail: { field: 'run', type: 'nominal' },
    },
  };
}

function perRuleSpec(analyses: RunAnalysis[], rules: string[], key: string, title: string, scale = 1): Spec | null {
  const values = analyses
    .map((a) => ({ rule: a.rule, seed: a.seed, value: (runNumbers(a)[key] ?? NaN) * scale }))
    .filter((v) => Number.isFinite(v.value));
  if (!values.length) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 260,
    height: 220,
    data: { values },
    encoding: { x: { field: 'rule', type: 'nominal', sort: rules, title: null }, color: { ...ruleColor(rules), legend: null } },
    layer: [
      { mark: { type: 'bar', opacity: 0.35 }, encoding: { y: { aggregate: 'mean', field: 'value', type: 'quantitative', title } } },
      { mark: { type: 'point', filled: true, size: 50 }, encoding: { y: { field: 'value', type: 'quantitative' } } },
    ],
  };
}

/** The trained network's normalized margin over training, against the max-margin predictor's. */
function marginOverTrainingSpec(analyses: RunAnalysis[], rules: string[]): Spec | null {
  const values = analyses.flatMap((a) => (a.implicitBias?.marginHistory ?? []).filter((r) => r.step > 0).map((r) => ({ rule: a.rule, run: a.rule ? `${a.rule}-s${a.seed}` : 'run', step: r.step, value: r.normMargin })));
  if (!values.length) return null;
  const targets = analyses.filter((a) => a.implicitBias && Number.isFinite(a.implicitBias.maxMargin.normalizedMargin)).map((a) => ({ rule: a.rule, value: a.implicitBias!.maxMargin.normalizedMargin }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 480,
    height: 260,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: false },
        encoding: {
          x: { field: 'step', type: 'quantitative', scale: { type: 'log' }, title: 'step' },
          y: { field: 'value', type: 'quantitative', title: 'min_i y_i f(x_i) / ‖θ‖^L' },
          color: ruleColor(rules),
          detail: { field: 'run' },
        },
      },
      { data: { values: targets }, mark: { type: 'rule', strokeDash: [4, 3] }, encoding: { y: { field: 'value', type: 'quantitative' }, color: ruleColor(rules) } },
    ],
  } as Spec;
}

/** Eigenvalues of J in the complex plane, one facet per run, with the line Re = 1 (stability of the linearised dynamics). */
function eigenvalueSpec(analyses: RunAnalysis[], rules: string[]): Spec | null {
  const values = analyses.flatMap((a) => (a.dynamics?.eigenvalues ?? []).map((e) => ({ rule: a.rule, run: a.rule ? `${a.rule}-s${a.seed}` : 'run', re: e.re, im: e.im })));
  if (!values.length) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    facet: { column: { field: 'run', type: 'nominal', title: null } },
    spec: {
      width: 220,
      height: 220,
      layer: [
        { mark: { type: 'point', filled: true, size: 14, opacity: 0.7 }, encoding: { x: { field: 're', type: 'quantitative', title: 'Re λ' }, y: { field: 'im', type: 'quantitative', title: 'Im λ' }, color: ruleColor(rules) } },
        { data: { values: [{ re: 1 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { x: { field: 're', type: 'quantitative' } } },
      ],
    },
  } as Spec;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** analysis.html for one run or a compare directory. */
export async function analysisPage(title: string, analyses: RunAnalysis[], rules: string[], label = 'rule'): Promise<string> {
  const figures: { title: string; spec: Spec }[] = [];
  const density = densitySpec(analyses, rules);
  if (density) figures.push({ title: 'Hessian eigenvalue density (stochastic Lanczos quadrature)', spec: density });
  const lmax = perRuleSpec(analyses, rules, 'lambdaMax', 'λ_max');
  if (lmax) figures.push({ title: 'Top Hessian eigenvalue per rule (bar: mean; points: seeds)', spec: lmax });
  const gap = perRuleSpec(analyses, rules, 'lossGap', 'test loss − train loss');
  if (gap) figures.push({ title: 'Generalization gap per rule (bar: mean; points: seeds)', spec: gap });
  const trace = perRuleSpec(analyses, rules, 'trace', 'trace');
  if (trace) figures.push({ title: 'Hessian trace per rule', spec: trace });
  const over = lambdaOverTrainingSpec(
    analyses.map((a) => ({ rule: a.rule, seed: a.seed, dir: a.runDir })),
    rules,
  );
  if (over) figures.push({ title: 'λ_max over training (recorded by --analyze-every)', spec: over });
  const margin = marginOverTrainingSpec(analyses, rules);
  if (margin) figures.push({ title: 'Normalized margin over training (recorded by --analyze margin); dashed: the max-margin predictor’s', spec: margin });
  const eig = eigenvalueSpec(analyses, rules);
  if (eig) figures.push({ title: 'Eigenvalues of the recurrent matrix J (dashed: Re λ = 1, where the linearised leaky dynamics lose stability)', spec: eig });
  const svgs = await Promise.all(figures.map((f) => renderSvg(f.spec)));
  const rows = analysisRows(aggregate(analyses, rules), label);
  const first = analyses[0];
  const o = first?.options;
  const setting = o?.hessian && first
    ? `Hessian of the mean loss over the first ${first.hessian?.points ?? o.points} ${o.split} examples (file order), parameters ${escape(o.params ?? 'all trainable')}; ${o.method} tol ${o.tol}, trace by ${o.traceMethod} with ${o.probes} HVPs; backend ${escape(first.backend)}.`
    : `Backend ${escape(first?.backend ?? '')}.`;
  const implicit = analyses
    .filter((a) => a.implicitBias)
    .map((a) => `<pre>${escape(implicitBiasText(a, analyses.length > 1))}</pre>`)
    .join('\n');
  const tableHtml = `<table>\n<thead><tr>${rows[0]!.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${rows
    .slice(1)
    .map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`)
    .join('\n')}\n</tbody>\n</table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escape(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.8rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1.5rem 0; display: inline-block; vertical-align: top; }
figcaption { font-weight: 600; margin-bottom: 0.5rem; }
</style>
</head>
<body>
<h1>${escape(title)}</h1>
<p>${setting} Mean ± std over seeds.</p>
${tableHtml}
${implicit}
${figures.map((f, i) => `<figure><figcaption>${escape(f.title)}</figcaption>\n${svgs[i]}\n</figure>`).join('\n')}
</body>
</html>
`;
}
