/**
 * The figures every page shares, as vega-lite specs rendered to SVG in Node
 * (no browser): one colour per rule wherever it appears, solid legend symbols,
 * and learning curves that show learning — the test metric over the whole run
 * and zoomed to its second half, train and test loss on a log axis, and the
 * per-layer alignment angles, wrapped into rows.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { Figure, Spec } from './analysis/contract.js';
import type { RunResult } from './compare.js';
import { rules } from './registries.js';

export type { Figure, Spec };

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

const AXIS = { labelFontSize: 11, titleFontSize: 12 };

export async function renderSvg(spec: Spec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Saturated colours that stay apart on white; a rule keeps its colour by its place in the rule registry. */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#393b79', '#b8860b', '#637939', '#843c39', '#7b4173', '#e6550d', '#3182bd', '#555555'];

/**
 * The colour of each group: a group that is a rule (no sweep) gets its rule's
 * colour, the same on every page and in every comparison; the groups of a
 * sweep, several per rule, take colours in their order, the same in every
 * figure of that comparison.
 */
export function groupColors(groups: string[]): string[] {
  const names = rules.names();
  const byRule = groups.every((g) => names.includes(g));
  return groups.map((g, i) => PALETTE[(byRule ? names.indexOf(g) : i) % PALETTE.length]!);
}

/** Legend symbols drawn solid, whatever the opacity of the marks they stand for (bands, thin seed lines). */
const LEGEND = { symbolOpacity: 1, symbolStrokeWidth: 3, symbolSize: 140, labelFontSize: 12 };

/** The colour encoding by group, with the groups' order and colours fixed so every figure colours them alike (even where one has no data). */
export function groupColor(groups: string[]) {
  return { field: 'group', type: 'nominal' as const, sort: groups, scale: { domain: groups, range: groupColors(groups) }, title: null, legend: LEGEND };
}

/** True when the runs are on a regression task (their metric is the normalized error). */
export const isRegression = (runs: RunResult[]) => runs.some((r) => r.evals.some((e) => e.test.nmse !== undefined));

/** Whether some group has more than one run, so that means and bands over seeds mean something. */
const overSeeds = (runs: RunResult[]) => runs.some((r, i) => runs.findIndex((o) => o.group === r.group) !== i);

/** Runs shorter than two epochs are plotted against steps (a task RNN's "epoch" is a pass over its trial set). */
function xAxis(runs: RunResult[]) {
  const epochs = Math.max(0, ...runs.flatMap((r) => r.evals.map((e) => e.epoch)));
  return epochs < 2 ? { field: 'step', title: 'step' } : { field: 'epoch', title: 'epoch' };
}

/** An accuracy axis from a little below the lowest of `values` to a little above the highest. */
function zoomedDomain(values: { value: number }[]): [number, number] {
  const lo = Math.min(...values.map((v) => v.value));
  const hi = Math.max(...values.map((v) => v.value));
  const pad = Math.max(0.25, 0.1 * (hi - lo));
  return [Math.max(0, lo - pad), Math.min(100, hi + pad)];
}

/**
 * The test metric over training, one line per group. Accuracy comes twice: over
 * the whole run (mean over seeds, a ±1 std band) and over its second half on an
 * axis zoomed to those points, so rules a point apart near the end do not share
 * one line. Regression tasks show the normalized error on a log axis (mean, and
 * each seed as a thin line).
 */
export function testMetricFigures(runs: RunResult[], groups: string[]): Figure[] {
  const regression = isRegression(runs);
  const x = xAxis(runs);
  const values = runs.flatMap((r) =>
    r.evals
      .map((e) => ({ group: r.group, seed: r.seed, x: x.field === 'step' ? e.step : e.epoch, value: regression ? (e.test.nmse ?? NaN) : 100 * e.test.accuracy }))
      .filter((v) => Number.isFinite(v.value) && (!regression || v.value > 0)),
  );
  if (!values.length) return [];
  const seeds = overSeeds(runs);
  const figure = (title: string, points: typeof values, y: object, spread: object): Figure => ({
    title,
    spec: {
      $schema: SCHEMA,
      width: 480,
      height: 280,
      data: { values: points },
      encoding: { x: { field: 'x', type: 'quantitative', title: x.title, axis: AXIS }, color: groupColor(groups) },
      layer: [spread, { mark: { type: 'line', point: { size: 18, filled: true }, strokeWidth: 2 }, encoding: { y: { aggregate: 'mean', field: 'value', type: 'quantitative' } } }],
    } as Spec,
  });
  if (regression) {
    const y = { field: 'value', type: 'quantitative' as const, title: 'Σ(z − y)² / Σy² (log)', scale: { type: 'log' as const }, axis: AXIS };
    const spread = { mark: { type: 'line' as const, opacity: 0.3, strokeWidth: 1 }, encoding: { y, detail: { field: 'seed', type: 'nominal' as const } } };
    return [figure(`Normalized test error${seeds ? ' (thick: mean over seeds; thin: each seed)' : ''}`, values, y, spread)];
  }
  const band = (y: object) => ({ mark: { type: 'errorband' as const, extent: 'stdev' as const, opacity: 0.2 }, encoding: { y } });
  const full = { field: 'value', type: 'quantitative' as const, title: 'test accuracy (%)', scale: { zero: false }, axis: AXIS };
  const half = Math.max(...values.map((v) => v.x)) / 2;
  const late = values.filter((v) => v.x >= half);
  const zoomed = { ...full, scale: { domain: zoomedDomain(late) } };
  return [
    figure(`Test accuracy${seeds ? ' (line: mean over seeds; band: ±1 std)' : ''}`, values, full, band(full)),
    figure('Test accuracy over the second half of training, axis zoomed to it', late, zoomed, band(zoomed)),
  ];
}

/**
 * Train loss (the running mean since the previous evaluation, dashed) and test
 * loss (solid) over training, mean over seeds, on a log axis so a diverged run
 * does not flatten the others.
 */
export function lossFigure(runs: RunResult[], groups: string[]): Figure | null {
  const x = xAxis(runs);
  const values = runs.flatMap((r) =>
    r.evals.flatMap((e) =>
      (['train', 'test'] as const).map((split) => ({ group: r.group, seed: r.seed, split, x: x.field === 'step' ? e.step : e.epoch, loss: e[split].loss })),
    ),
  ).filter((v) => Number.isFinite(v.loss) && v.loss > 0);
  if (!values.length) return null;
  return {
    title: `Loss (solid: test; dashed: train, the running mean since the previous evaluation${overSeeds(runs) ? '; mean over seeds' : ''})`,
    spec: {
      $schema: SCHEMA,
      width: 480,
      height: 280,
      data: { values },
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: x.title, axis: AXIS },
        y: { aggregate: 'mean', field: 'loss', type: 'quantitative', title: 'loss (log)', scale: { type: 'log' }, axis: AXIS },
        color: groupColor(groups),
        strokeDash: { field: 'split', type: 'nominal', sort: ['test', 'train'], scale: { domain: ['test', 'train'], range: [[1, 0], [5, 3]] }, title: null, legend: LEGEND },
        detail: { field: 'split', type: 'nominal' },
      },
    },
  };
}

type AngleField = 'updateAngle' | 'feedbackAngle';

/** Per-layer angle over training, a panel per layer, three panels to a row; the output layer (always exact) is left out of update angles. */
function angleFigure(runs: RunResult[], groups: string[], field: AngleField, what: string): Figure | null {
  const x = xAxis(runs);
  const values = runs.flatMap((r) =>
    r.diags.flatMap((d) => {
      const layers = Object.entries(d.layers);
      const shown = field === 'updateAngle' ? layers.slice(0, -1) : layers;
      return shown.filter(([, v]) => Number.isFinite(v[field])).map(([layer, v]) => ({ group: r.group, seed: r.seed, x: x.field === 'step' ? d.step : d.epoch, layer, angle: v[field]! }));
    }),
  );
  if (!values.length) return null;
  const layers = [...new Set(values.map((v) => v.layer))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  // Panels in layer order (l2 before l10): the facet sorts by a field the aggregated marks keep (an array sort is lost to the aggregate).
  const ordered = values.map((v) => ({ ...v, order: layers.indexOf(v.layer) }));
  return {
    title: `${what}${overSeeds(runs) ? ' (mean over seeds)' : ''}`,
    spec: {
      $schema: SCHEMA,
      data: { values: ordered },
      facet: { field: 'layer', type: 'nominal', title: null, sort: { field: 'order', op: 'min' } },
      columns: Math.min(3, layers.length),
      spec: {
        width: 200,
        height: 180,
        // Points as well as lines: a short run may have one diagnostic, which a line alone would not show.
        mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 20 } },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: x.title, axis: { ...AXIS, format: '~g' } },
          y: { aggregate: 'mean', field: 'angle', type: 'quantitative', title: 'angle (°)', scale: { zero: true }, axis: AXIS },
          color: groupColor(groups),
          detail: { field: 'order', type: 'quantitative' },
        },
      },
    },
  };
}

/** The figures of training every report shows: test metric, losses, and the alignment angles when they were recorded. */
export function learningFigures(runs: RunResult[], groups: string[]): Figure[] {
  return [
    ...testMetricFigures(runs, groups),
    lossFigure(runs, groups),
    angleFigure(runs, groups, 'updateAngle', 'Angle between each hidden layer’s update and the backprop gradient'),
    angleFigure(runs, groups, 'feedbackAngle', 'Angle between each layer’s feedback matrix and its backprop counterpart'),
  ].filter((f): f is Figure => f !== null);
}
