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
import { evaluate } from '../../src/evaluate.js';
import { lossFor } from '../../src/losses.js';
import type { OptionSpec } from '../../src/options.js';
import { trainableNames } from '../../src/params.js';
import { datasets, models, rules } from '../../src/registries.js';
import { RngStreams } from '../../src/rng.js';
import { train } from '../../src/trainer.js';
import { smallDigits, teacherDataset, tempDir, timeless } from '../helpers.js';

const RULES: { rule: string; ruleOptions?: Record<string, unknown> }[] = ['bp', 'fa', 'dfa', 'usf', 'frsf', 'brsf'].map((rule) => ({ rule }));

/** Teacher-student data for dense models; 14×14 digits for conv nets. */
const DATA = { flat: () => teacherDataset('contract'), image: smallDigits };

// Feedback alignment on conv nets needs width: with 4 and 8 filters and a
// 16-unit layer, fa and dfa do not learn at all in a few hundred steps.
const MODELS: { model: string; modelOptions: Record<string, unknown>; data: keyof typeof DATA; lr: number; steps: number }[] = [
  { model: 'mlp', modelOptions: { hidden: [32, 16] }, data: 'flat', lr: 2e-3, steps: 300 },
  { model: 'convnet', modelOptions: { arch: 'c8k3-m2-c16k3v-m2-d64' }, data: 'image', lr: 1e-3, steps: 500 },
  { model: 'gln', modelOptions: { hidden: [16], gates: 2, threshold: 'random' }, data: 'flat', lr: 2e-3, steps: 300 },
  // Under Dale's law the sign-symmetry rules' feedback signs are fixed by cell type; brsf needs the larger step.
  { model: 'mlp', modelOptions: { hidden: [32, 16], dale: 0.8 }, data: 'flat', lr: 3e-3, steps: 300 },
];

beforeAll(() => {
  for (const [name, load] of Object.entries(DATA)) {
    if (!datasets.has(`contract-${name}`)) datasets.register({ name: `contract-${name}`, description: 'test teacher-student data', load: async () => load() });
  }
});

const defaults = (specs: readonly OptionSpec[]) => Object.fromEntries(specs.map((s) => [s.key, s.default]));

// Vectorized nonnegative networks: their own rule (gevb) and the rules that run on any declared layers.
const VECTORIZED: ((typeof MODELS)[number] & { rule: string; ruleOptions?: Record<string, unknown> })[] = [
  { rule: 'gevb', model: 'vnn', modelOptions: { hidden: [32, 16] }, data: 'flat', lr: 2e-3, steps: 300 },
  { rule: 'bp', model: 'vnn', modelOptions: { hidden: [32, 16] }, data: 'flat', lr: 2e-3, steps: 300 },
  { rule: 'gevb', model: 'vnn-conv', modelOptions: { channels: [8], hidden: [32] }, data: 'image', lr: 1e-3, steps: 300 },
  { rule: 'bp', model: 'vnn-conv', modelOptions: { channels: [8], hidden: [32] }, data: 'image', lr: 1e-3, steps: 300 },
];

const table = [
  ...RULES.flatMap((r) => MODELS.map((m) => ({ ...r, ...m, label: `${r.rule} on ${m.model}${m.modelOptions['dale'] ? ' (Dale)' : ''}` }))),
  ...VECTORIZED.map((v) => ({ ...v, label: `${v.rule} on ${v.model}` })),
];

describe.each(table)('contract: $label', ({ rule, ruleOptions, model, modelOptions, data, lr, steps }) => {
  const spec = {
    dataset: `contract-${data}`,
    rule,
    model,
    modelOptions,
    ...(ruleOptions ? { ruleOptions } : {}),
    optimizer: 'adam' as const,
    lr,
    batchSize: 32,
    steps,
    logEvery: 10,
    evalEvery: 100,
    seed: 11,
  };

  it('returns finite updates shaped like the trainable parameters', async () => {
    const ds = DATA[data]();
    const m = models.get(model).create({ ...defaults(models.get(model).options ?? []), ...modelOptions } as never, ds);
    const r = rules.get(rule).create(defaults(rules.get(rule).options ?? []));
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
    // The loss at initialisation, from the step-0 parameters the run kept.
    const ds = DATA[data]();
    const m = models.get(model).create({ ...defaults(models.get(model).options ?? []), ...modelOptions } as never, ds);
    const initial = evaluate(m, readParamsDir(join(a!.dir, 'init')).params, ds, 'test');
    const final = evals.at(-1).test;
    const perClass = new Array(ds.outputSize).fill(0);
    for (const y of ds.arrays('test').y) perClass[y]++;
    const majority = Math.max(...perClass) / ds.size('test');
    expect(final.loss).toBeLessThan(0.8 * initial.loss);
    expect(final.accuracy).toBeGreaterThan(majority + 0.1);
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
