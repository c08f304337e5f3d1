/**
 * Flatness and compression recorded during training (--analyze hessian,input-jacobian
 * with --analyze-trace): the recorded trace equals the exact trace Σ_i e_iᵀ H e_i
 * (Hutch++ is exact once its sketch spans the Hessian's range), and the recorded
 * output measures equal `biocredit analyze --input-jacobian` on the final
 * checkpoint over the same examples.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/analysis/analyze.js';
import { trainingFigures } from '../../src/analysis/report.js';
import { LossSurface } from '../../src/analysis/hvp.js';
import type { TrainSpec } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';
import { renderSvg } from '../../src/plots.js';
import { loadRun } from '../../src/run.js';
import { train } from '../../src/trainer.js';
import { tempDir } from '../helpers.js';

const SPEC: TrainSpec = {
  dataset: 'mnist-mini',
  datasetOptions: { trainSize: 300 },
  model: 'mlp',
  modelOptions: { hidden: [12] },
  steps: 10,
  batchSize: 50,
  analyze: 'hessian,input-jacobian',
  analyzeEvery: 5,
  analyzePoints: 40,
  // The readout l1/W has 120 entries: 3·120 products make Hutch++'s sketch span the whole block.
  analyzeParams: 'l1/W',
  analyzeTrace: 360,
  seed: 5,
  logEvery: 0,
  diagEvery: 0,
};

const records = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"type":"analysis"'))
    .map((l) => JSON.parse(l) as Record<string, number>);

describe('compression and the Hessian trace during training', () => {
  it('records the exact trace of the chosen block and the output measures analyze computes on the same weights', async () => {
    const out = tempDir();
    await train(SPEC, { out });
    const rs = records(out);
    expect(rs.map((r) => r['step'])).toEqual([0, 5, 10]);
    const last = rs.at(-1)!;
    const run = await loadRun(out);
    const surface = new LossSurface(run.model, run.params, run.dataset, { split: 'train', points: 40 }, ['l1/W']);
    let exact = 0;
    try {
      for (let i = 0; i < surface.dim; i++) {
        const e = new Float64Array(surface.dim);
        e[i] = 1;
        exact += surface.apply(e)[i]!;
      }
    } finally {
      surface.dispose();
      for (const t of [...Object.values(run.params), ...Object.values(run.init ?? {})]) t.dispose();
    }
    expect(exact).toBeGreaterThan(0);
    expect(Math.abs(last['trace']! - exact) / exact).toBeLessThan(1e-3);

    const a = (await analyzeRun(out, { 'input-jacobian': { points: 40, split: 'train' } })) as unknown as {
      inputJacobian: { layers: Record<string, { volume: number; sensitivity: number; dimensionality: number }>; bound: { bound: number } };
    };
    const o = a.inputJacobian.layers['output']!;
    expect(last['outputVolume']).toBeCloseTo(o.volume, 4);
    expect(last['outputSensitivity']).toBeCloseTo(o.sensitivity, 5);
    expect(last['outputDimensionality']).toBeCloseTo(o.dimensionality, 5);
    expect(last['sensitivityBound']).toBeCloseTo(a.inputJacobian.bound.bound, 4);
    expect(last['outputSensitivity']).toBeLessThanOrEqual(last['sensitivityBound']!);

    const figure = trainingFigures([{ group: 'bp', seed: 5, dir: out }], ['bp']).find((f) => f.title.startsWith('Compression of the output'));
    const data = (figure!.spec as unknown as { data: { values: { measure: string; epoch: number; value: number }[] } }).data.values;
    expect(data).toHaveLength(3 * 3);
    expect(data.filter((v) => v.measure === 'output max sensitivity').map((v) => v.value)).toEqual(rs.map((r) => r['outputSensitivity']));
    expect(await renderSvg(figure!.spec)).toContain('<svg');
  });

  it('refuses --analyze-trace without the hessian measure, naming both flags', async () => {
    const refused = train({ ...SPEC, analyze: 'gap', analyzeTrace: 10 }, { out: tempDir() });
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(/^--analyze-trace .*--analyze is gap$/);
  });
});
