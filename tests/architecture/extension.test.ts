/**
 * Extending biocredit: a toy rule, model, task and analysis (tests/toys/), each
 * one file plus one registration line, work with everything else unchanged —
 * training, checkpoints, the CLI's flags and help, `analyze`, its table, and
 * the analysis recorded during training. Until their rows exist in the contract
 * tables (the third place a new entry touches), the coverage check names them.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/analysis/analyze.js';
import { aggregate, analysisRows } from '../../src/analysis/report.js';
import { buildProgram } from '../../src/cli/main.js';
import { datasets } from '../../src/registries.js';
import { train } from '../../src/trainer.js';
import { uncovered } from '../contracts/coverage.js';
import { teacherDataset, tempDir, timeless } from '../helpers.js';
import '../toys/register.js';

const help = (args: string[]): string => {
  const program = buildProgram();
  let out = '';
  program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  program.commands.forEach((c) => c.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) }));
  try {
    program.parse([...args, '--help'], { from: 'user' });
  } catch {
    // Commander ends --help with an exit it throws under exitOverride.
  }
  return out;
};

const read = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

beforeAll(() => {
  if (!datasets.has('toy-teacher')) datasets.register({ name: 'toy-teacher', description: 'test data', load: async () => teacherDataset('toy', 256, 8, 3) });
});

describe('a toy rule, model, task and analysis, each one file and one registration line', () => {
  it('are reported by the contract tables’ coverage check until they have rows', () => {
    expect(uncovered()).toEqual({ rules: ['toy-es'], models: ['toy-linear'], analyses: ['param-norm'] });
  });

  it('the toy rule (populations, step metrics) trains the toy model with the toy analysis recorded during training', async () => {
    const dir = tempDir();
    const before = tf.memory().numTensors;
    await train(
      { dataset: 'toy-teacher', model: 'toy-linear', rule: 'toy-es', ruleOptions: { pairs: 8 }, optimizer: 'sgd', lr: 0.2, steps: 20, logEvery: 5, analyze: 'param-norm', analyzeEvery: 10, seed: 2 },
      { out: dir },
    );
    expect(tf.memory().numTensors).toBe(before);
    const recs = read(dir);
    const evals = recs.filter((r) => r.type === 'eval');
    expect(evals.at(-1).test.loss).toBeLessThan(evals[0].test.loss);
    expect(recs.filter((r) => r.type === 'train').every((r) => r.metrics.spread > 0)).toBe(true);
    expect(recs.filter((r) => r.type === 'analysis').map((r) => r.step)).toEqual([0, 10, 20]);
    expect(recs.find((r) => r.type === 'analysis').paramNorm).toBeGreaterThan(0);

    // Same seed, same numbers.
    const again = tempDir();
    await train(
      { dataset: 'toy-teacher', model: 'toy-linear', rule: 'toy-es', ruleOptions: { pairs: 8 }, optimizer: 'sgd', lr: 0.2, steps: 20, logEvery: 5, analyze: 'param-norm', analyzeEvery: 10, seed: 2 },
      { out: again },
    );
    const untimed = (rs: Record<string, unknown>[]) => timeless(rs).map(({ sec: _s, ...r }) => r);
    expect(untimed(read(again))).toEqual(untimed(recs));

    const a = await analyzeRun(dir, { 'param-norm': { power: 1 } });
    expect(a['paramNorm']).toMatchObject({ power: 1 });
    const rows = analysisRows(aggregate([a], [a.group]));
    expect(rows[0]).toContain('‖θ‖');
  });

  it('a model declared non-differentiable: gradient-free rules train it without alignment diagnostics; backprop is refused', async () => {
    const spec = { dataset: 'toy-teacher', model: 'toy-linear', modelOptions: { opaque: true }, rule: 'toy-es', optimizer: 'sgd' as const, lr: 0.2, steps: 6, diagEvery: 2, logEvery: 2 };
    const dir = tempDir();
    await train(spec, { out: dir });
    const types = new Set(read(dir).map((r) => r.type));
    expect(types.has('train')).toBe(true);
    expect(types.has('diag')).toBe(false);
    await expect(train({ ...spec, rule: 'bp' }, { out: tempDir() })).rejects.toThrow('rule bp needs a differentiable forward pass; model toy-linear does not provide it');
  });

  it('the toy task trains a recurrent network', async () => {
    const dir = tempDir();
    const s = await train({ task: 'toy-recall', datasetOptions: { trials: 64, testTrials: 16, delayMs: 60 }, model: 'rnn', modelOptions: { units: 8 }, rule: 'bptt', lr: 0.01, steps: 8, batchSize: 16 }, { out: dir });
    expect(s.status).toBe('finished');
    expect(Number.isFinite(s.final.test.loss)).toBe(true);
  });

  it('their options appear as flags with their own help, and the toy analysis in analyze', () => {
    expect(help(['train', '--rule', 'toy-es'])).toMatch(/--pairs <n>\s+antithetic pairs per step \(default: 8\)/);
    expect(help(['train', '--model', 'toy-linear'])).toMatch(/--scale <s>\s+std of the initial weights/);
    expect(help(['train', '--task', 'toy-recall'])).toMatch(/--delay-ms <ms>\s+delay before the answer/);
    const analyze = help(['analyze']);
    expect(analyze).toMatch(/--param-norm\s+toy: the p-norm/);
    expect(analyze).toMatch(/--power <p>\s+which p-norm \(default: 2\) \[param-norm\]/);
  });
});
