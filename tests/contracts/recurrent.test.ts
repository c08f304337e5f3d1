/**
 * The contract every temporal rule keeps on the rate RNN: finite updates shaped
 * like the parameters, a test loss that goes down on a task, identical numbers
 * for identical seeds, no tensor growth. Adding a temporal rule adds a row.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readParamsDir } from '../../src/checkpoint.js';
import { train } from '../../src/trainer.js';
import { tempDir, timeless } from '../helpers.js';

const RULES: { rule: string; ruleOptions?: Record<string, unknown>; modelOptions?: Record<string, unknown>; note?: string }[] = [
  { rule: 'bptt' },
  { rule: 'tbptt', ruleOptions: { window: 10 } },
  { rule: 'eprop' },
  { rule: 'rflo' },
  { rule: 'modprop', modelOptions: { dale: 0.8 }, note: ' (E/I)' },
  { rule: 'bptt', modelOptions: { recNoise: 0.05, inputNoise: 0.05 }, note: ' with noise' },
];

const TASKS = [
  { task: 'perceptual-decision', datasetOptions: { trials: 256, testTrials: 64, dt: 20 } },
  { task: 'pattern', datasetOptions: { trials: 64, testTrials: 16, dt: 20 } },
];

const table = RULES.flatMap((r) => TASKS.map((t) => ({ ...r, ...t, label: `${r.rule}${r.note ?? ''} on ${t.task}` })));

describe.each(table)('recurrent contract: $label', ({ rule, ruleOptions, modelOptions, task, datasetOptions }) => {
  it('lowers the test loss, is seeded, and does not grow the tensor count', async () => {
    const spec = {
      task,
      datasetOptions,
      model: 'rnn',
      modelOptions: { units: 32, activation: 'tanh', ...modelOptions },
      rule,
      ...(ruleOptions ? { ruleOptions } : {}),
      lr: 1e-2,
      batchSize: 16,
      steps: 60,
      evalEvery: 30,
      logEvery: 10,
      diagEvery: 0,
      seed: 3,
    };
    const counts: number[] = [];
    const dirs = [tempDir(), tempDir()];
    for (const dir of dirs) {
      const before = tf.memory().numTensors;
      await train(spec, { out: dir, reporter: { progress: () => counts.push(tf.memory().numTensors) } });
      expect(tf.memory().numTensors).toBe(before);
    }
    const read = (dir: string) =>
      readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    const evals = read(dirs[0]!).filter((r) => r.type === 'eval');
    expect(evals[0].step).toBe(0);
    expect(evals.at(-1).test.loss).toBeLessThan(0.8 * evals[0].test.loss);
    for (const r of read(dirs[0]!).filter((x) => x.type === 'train')) expect(Number.isFinite(r.loss)).toBe(true);
    expect(timeless(read(dirs[0]!))).toEqual(timeless(read(dirs[1]!)));
    const [wa, wb] = dirs.map((d) => readParamsDir(join(d, 'checkpoint')).params);
    for (const k of Object.keys(wa!)) expect(Array.from(wa![k]!.dataSync())).toEqual(Array.from(wb![k]!.dataSync()));
    expect(new Set(counts.slice(5, 60)).size).toBe(1);
  });
});
