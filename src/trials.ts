/**
 * Trial outputs against targets, for the reports of task runs: for each
 * group, the first run given (lowest seed) is loaded from its last checkpoint
 * and run noise-free on the first few test trials; the figure shows the first
 * output channel over time with the target where the loss counts.
 */
import * as tf from '@tensorflow/tfjs';
import type { RunResult } from './compare.js';
import { disposeBatch } from './data.js';
import { groupColor, SCHEMA, type Figure, type Spec } from './plots.js';
import { loadRun } from './run.js';

interface Point {
  group: string;
  trial: string;
  ms: number;
  series: 'output' | 'target';
  value: number;
}

/** The first of `runs` in each group, from its last checkpoint; null unless the runs are on a task whose output is a signal (mse, mse-decision). */
export async function trialOutputsFigure(runs: RunResult[], groups: string[], trials = 3): Promise<Figure | null> {
  const values: Point[] = [];
  for (const group of groups) {
    const run = runs.find((r) => r.group === group);
    if (!run) continue;
    const loaded = await loadRun(run.dir);
    const { dataset, model, params, config } = loaded;
    try {
      if (config.dataset.kind !== 'task' || dataset.loss === 'sequence-ce' || dataset.loss === 'softmax-ce') return null;
      const n = Math.min(trials, dataset.size('test'));
      const batch = dataset.batch('test', Array.from({ length: n }, (_, i) => i));
      const output = tf.tidy(() => model.forward(params, batch.x, { training: false }).output);
      const out = output.arraySync() as number[][][];
      const y = batch.y.arraySync() as number[][][];
      const mask = (batch.mask?.arraySync() as number[][] | undefined) ?? null;
      output.dispose();
      disposeBatch(batch);
      const dt = dataset.dtMs ?? 1;
      for (let b = 0; b < n; b++) {
        const trial = `test trial ${b}`;
        out[b]!.forEach((z, t) => {
          values.push({ group, trial, ms: t * dt, series: 'output', value: z[0]! });
          if (!mask || mask[b]![t]! > 0) values.push({ group, trial, ms: t * dt, series: 'target', value: y[b]![t]![0]! });
        });
      }
    } finally {
      tf.dispose([...Object.values(params), ...Object.values(loaded.init ?? {})]);
    }
  }
  if (!values.length) return null;
  const spec = {
    $schema: SCHEMA,
    data: { values },
    facet: { row: { field: 'group', type: 'nominal', sort: groups, title: null }, column: { field: 'trial', type: 'nominal', title: null } },
    spec: {
      width: 220,
      height: 110,
      layer: [
        {
          transform: [{ filter: "datum.series === 'output'" }],
          mark: { type: 'line' },
          encoding: { x: { field: 'ms', type: 'quantitative', title: 'time (ms)' }, y: { field: 'value', type: 'quantitative', title: 'output' }, color: groupColor(groups) },
        },
        {
          transform: [{ filter: "datum.series === 'target'" }],
          mark: { type: 'point', size: 6, filled: true, color: 'black' },
          encoding: { x: { field: 'ms', type: 'quantitative' }, y: { field: 'value', type: 'quantitative' } },
        },
      ],
    },
  } as Spec;
  const which = runs.length > 1 ? ', first seed of each group' : '';
  return { title: `Trial outputs against targets (line: output; black dots: target, where the loss counts) on the first test trials${which}`, spec };
}
