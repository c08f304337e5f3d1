/**
 * The contract every learning rule keeps, on every model it supports: finite
 * updates shaped like the parameters, loss that goes down on a teacher-student
 * problem, identical numbers for identical seeds, and no tensor growth across
 * steps. Adding a rule or model adds a row here.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readParamsDir } from '../../src/checkpoint.js';
import { lossFor } from '../../src/losses.js';
import { trainableNames } from '../../src/params.js';
import { datasets, models, rules } from '../../src/registries.js';
import { RngStreams } from '../../src/rng.js';
import { train } from '../../src/trainer.js';
import { teacherDataset, tempDir, timeless } from '../helpers.js';

const RULES: { rule: string; ruleOptions?: Record<string, unknown> }[] = [{ rule: 'bp' }];
const MODELS: { model: string; modelOptions: Record<string, unknown> }[] = [{ model: 'mlp', modelOptions: { hidden: [32, 16] } }];

const TEACHER = 'contract-teacher';

beforeAll(() => {
  if (!datasets.has(TEACHER)) {
    datasets.register({ name: TEACHER, description: 'test teacher-student data', load: async () => teacherDataset('contract') });
  }
});

const table = RULES.flatMap((r) => MODELS.map((m) => ({ ...r, ...m, label: `${r.rule} on ${m.model}` })));

describe.each(table)('contract: $label', ({ rule, ruleOptions, model, modelOptions }) => {
  const spec = {
    dataset: TEACHER,
    rule,
    model,
    modelOptions,
    ...(ruleOptions ? { ruleOptions } : {}),
    optimizer: 'adam' as const,
    lr: 5e-3,
    batchSize: 32,
    steps: 120,
    logEvery: 10,
    evalEvery: 40,
    seed: 11,
  };

  it('returns finite updates shaped like the trainable parameters', async () => {
    const ds = teacherDataset('contract');
    const m = models.get(model).create({ ...models.get(model).options!.reduce((o, s) => ({ ...o, [s.key]: s.default }), {}), ...modelOptions } as never, {
      inputShape: ds.inputShape,
      outputSize: ds.outputSize,
    });
    const r = rules.get(rule).create((rules.get(rule).options ?? []).reduce((o, s) => ({ ...o, [s.key]: s.default }), {}));
    const rngs = new RngStreams(1);
    const params = m.init(rngs.stream('init'));
    const state = r.init(m, params, rngs.stream('rule'));
    const batch = ds.batch('train', [0, 1, 2, 3, 4, 5, 6, 7]);
    const out = r.step({ model: m, params, batch, loss: lossFor(ds.loss), state, step: 0, rng: rngs.stream('rule') });
    const names = trainableNames(m.specs);
    expect(Object.keys(out.updates).sort()).toEqual([...names].sort());
    for (const n of names) {
      expect(out.updates[n]!.shape).toEqual(m.specs[n]!.shape);
      expect(tf.all(tf.isFinite(out.updates[n]!)).dataSync()[0]).toBe(1);
    }
    expect(Number.isFinite(out.loss.dataSync()[0])).toBe(true);
    expect(out.output.shape).toEqual([8, ds.outputSize]);
  });

  it('lowers the test loss, is seeded, and does not grow the tensor count', async () => {
    const counts: number[] = [];
    const runs = [];
    for (const dir of [tempDir(), tempDir()]) {
      const before = tf.memory().numTensors;
      const summary = await train(spec, { out: dir, reporter: { progress: () => counts.push(tf.memory().numTensors) } });
      expect(tf.memory().numTensors).toBe(before);
      runs.push({ dir, summary });
    }
    const [a, b] = runs;
    const evals = readFileSync(join(a!.dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.type === 'eval');
    const initialLoss = Math.log(teacherDataset('contract').outputSize);
    expect(evals.at(-1).test.loss).toBeLessThan(0.6 * initialLoss);
    expect(a!.summary.final.test.accuracy).toBeGreaterThan(0.6);
    // Same seed → the same numbers, step for step, and the same final weights.
    const read = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(timeless(read(a!.dir))).toEqual(timeless(read(b!.dir)));
    const wa = readParamsDir(join(a!.dir, 'checkpoint')).params;
    const wb = readParamsDir(join(b!.dir, 'checkpoint')).params;
    for (const k of Object.keys(wa)) expect(Array.from(wa[k]!.dataSync())).toEqual(Array.from(wb[k]!.dataSync()));
    // The loop holds a constant number of tensors from step to step.
    const steady = counts.slice(5, spec.steps);
    expect(new Set(steady).size).toBe(1);
  });
});
