/**
 * report.html for a comparison: the results table and SVG plots drawn with
 * vega-lite (compiled to vega and rendered to SVG in Node, no browser needed):
 * test accuracy per epoch for each group (a rule, or a rule at one combination
 * of swept values), with a band of ±1 std over seeds, and the angle between
 * each layer's update and the backprop gradient over training.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { displayValue, type ComparisonResults, type Stat } from './compare.js';

type Spec = vl.TopLevelSpec;

const AXIS_TITLE = { labelFontSize: 11, titleFontSize: 12 };

export async function renderSvg(spec: Spec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The color encoding by group, with the groups' order fixed so every figure colors them alike (even where one has no data). */
export function groupColor(groups: string[]) {
  return { field: 'group', type: 'nominal' as const, sort: groups, scale: { domain: groups }, title: null };
}

const groupsOf = (results: ComparisonResults) => results.groups.map((r) => r.group);

/** True when the runs are on a regression task (their metric is the normalized error). */
export const isRegression = (results: ComparisonResults) => results.runs.some((r) => r.evals.some((e) => e.test.nmse !== undefined));

/**
 * The test metric per epoch, one line per group: accuracy (mean over seeds with
 * a ±1 std band) or, for regression tasks, the normalized error on a log scale
 * (mean, and each seed as a thin line).
 */
export function accuracySpec(results: ComparisonResults): Spec | null {
  const regression = isRegression(results);
  const values = results.runs.flatMap((r) =>
    r.evals
      .map((e) => ({ group: r.group, seed: r.seed, epoch: e.epoch, value: regression ? (e.test.nmse ?? NaN) : 100 * e.test.accuracy }))
      .filter((v) => !regression || (Number.isFinite(v.value) && v.value > 0)),
  );
  if (!values.length) return null;
  const y = regression
    ? { field: 'value', type: 'quantitative' as const, title: 'Σ(z − y)² / Σy²', scale: { type: 'log' as const } }
    : { field: 'value', type: 'quantitative' as const, title: 'test accuracy (%)', scale: { zero: false } };
  const spread = regression
    ? { mark: { type: 'line' as const, opacity: 0.3, strokeWidth: 1 }, encoding: { y, detail: { field: 'seed', type: 'nominal' as const } } }
    : { mark: { type: 'errorband' as const, extent: 'stdev' as const, opacity: 0.25 }, encoding: { y } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: regression ? 'Normalized test error' : 'Test accuracy',
    width: 520,
    height: 300,
    data: { values },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: AXIS_TITLE },
      color: groupColor(groupsOf(results)),
    },
    layer: [spread, { mark: { type: 'line', point: true }, encoding: { y: { aggregate: 'mean', field: 'value', type: 'quantitative' } } }],
  };
}

type AngleField = 'updateAngle' | 'feedbackAngle';

/** Per-layer angle over training, one facet per layer; the output layer (always exact) is left out of update angles. */
function angleSpec(results: ComparisonResults, field: AngleField, title: string): Spec | null {
  const values = results.runs.flatMap((r) =>
    r.diags.flatMap((d) => {
      const layers = Object.entries(d.layers);
      const shown = field === 'updateAngle' ? layers.slice(0, -1) : layers;
      return shown
        .filter(([, v]) => Number.isFinite(v[field]))
        .map(([layer, v]) => ({ group: r.group, seed: r.seed, epoch: d.epoch, layer, angle: v[field]! }));
    }),
  );
  if (!values.length) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    facet: { column: { field: 'layer', type: 'nominal', title: null } },
    spec: {
      width: 220,
      height: 220,
      mark: { type: 'line' },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: AXIS_TITLE },
        y: { aggregate: 'mean', field: 'angle', type: 'quantitative', title: 'angle (°)', scale: { zero: true }, axis: AXIS_TITLE },
        color: groupColor(groupsOf(results)),
      },
    },
  };
}

export function alignmentSpec(results: ComparisonResults): Spec | null {
  return angleSpec(results, 'updateAngle', 'Angle between each hidden layer’s update and the backprop gradient (mean over seeds)');
}

export function feedbackSpec(results: ComparisonResults): Spec | null {
  return angleSpec(results, 'feedbackAngle', 'Angle between each layer’s feedback matrix and its backprop counterpart (mean over seeds)');
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function pm(s: Stat, scale = 1, digits = 2): string {
  if (!s.n) return '—';
  return `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)}`;
}

/** The whole page, with extra figures (e.g. from analyses) appended after the built-in ones. */
export async function comparisonReport(results: ComparisonResults, extra: { title: string; spec: Spec }[] = []): Promise<string> {
  const figures: { title: string; spec: Spec }[] = [];
  const acc = accuracySpec(results);
  const regression = isRegression(results);
  if (acc) figures.push({ title: regression ? 'Normalized test error per epoch (thick: mean over seeds; thin: each seed)' : 'Test accuracy per epoch (line: mean over seeds; band: ±1 std)', spec: acc });
  const align = alignmentSpec(results);
  if (align) figures.push({ title: 'Update alignment with backprop, per hidden layer', spec: align });
  const feedback = feedbackSpec(results);
  if (feedback) figures.push({ title: 'Feedback alignment with the weights, per layer', spec: feedback });
  figures.push(...extra);
  const svgs = await Promise.all(figures.map((f) => renderSvg(f.spec)));
  const exp = (st: Stat) => (st.n ? `${st.mean.toExponential(2)} ± ${st.std.toExponential(1)}` : '—');
  const runs = (r: (typeof results.groups)[number]) => `${r.finished}${r.failed ? ` (+${r.failed} failed)` : ''}`;
  // A sweep's groups are a rule plus one column per swept option.
  const lead = (r: (typeof results.groups)[number]) => [r.rule, ...results.grid.map((k) => displayValue(r.values[k]) || '—')].map((c) => `<td>${escape(c)}</td>`).join('');
  const rows = results.groups
    .map((r) =>
      regression
        ? `<tr>${lead(r)}<td>${runs(r)}</td><td>${exp(r.testNmse)}</td><td>${pm(r.secPerEpoch, 1, 1)}</td><td>${pm(r.hiddenAngle, 1, 1)}</td></tr>`
        : `<tr>${lead(r)}<td>${runs(r)}</td><td>${pm(r.testAccuracy, 100)}</td><td>${pm(r.bestTestAccuracy, 100)}</td><td>${pm(r.trainAccuracy, 100)}</td><td>${pm(r.secPerEpoch, 1, 1)}</td><td>${pm(r.hiddenAngle, 1, 1)}</td></tr>`,
    )
    .join('\n');
  const leadHeader = ['rule', ...results.grid].map((k) => `<th>${escape(k)}</th>`).join('');
  const header = regression
    ? `${leadHeader}<th>runs</th><th>final normalized test error</th><th>s / epoch</th><th>hidden-layer angle (°)</th>`
    : `${leadHeader}<th>runs</th><th>final test acc (%)</th><th>best test acc (%)</th><th>train acc (%)</th><th>s / epoch</th><th>hidden-layer angle (°)</th>`;
  const backends = [...new Set(results.runs.map((r) => r.backend).filter(Boolean))].join(', ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>biocredit comparison</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.8rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
code { background: #f4f4f4; padding: 0.1rem 0.3rem; }
figure { margin: 1.5rem 0; }
figcaption { font-weight: 600; margin-bottom: 0.5rem; }
</style>
</head>
<body>
<h1>biocredit comparison</h1>
<p><code>${escape(results.command)}</code></p>
<p>${results.runs.length} runs in <code>${escape(results.dir)}</code>${backends ? `, backend ${escape(backends)}` : ''}; mean ± std over seeds.</p>
<table>
<thead><tr>${header}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
${figures.map((f, i) => `<figure><figcaption>${escape(f.title)}</figcaption>\n${svgs[i]}\n</figure>`).join('\n')}
</body>
</html>
`;
}
