/**
 * The contract every learning rule keeps, on every model it supports: finite
 * outputs shaped like the parameters it trains, a loss that goes down on a
 * teacher-student problem, a tensor count that does not grow across steps, and
 * identical numbers for identical seeds (checked on a short run). One row per
 * rule × model (tests/contracts/rule-rows.ts); a registered rule without a row
 * fails here.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readParamsDir } from '../../src/checkpoint.js';
import { evaluate } from '../../src/evaluate.js';
import { lossFor } from '../../src/losses.js';
import { resolveOptions } from '../../src/options.js';
import { trainableNames } from '../../src/params.js';
import { datasets, models, rules } from '../../src/registries.js';
import { RngStreams } from '../../src/rng.js';
import { train } from '../../src/trainer.js';
import { smallDigits, teacherDataset, tempDir, timeless } from '../helpers.js';
import { uncovered } from './coverage.js';
import { FEEDFORWARD_ROWS } from './rule-rows.js';

/** Teacher-student data for dense models; 14×14 digits for conv nets. */
const DATA = { flat: () => teacherDataset('contract'), image: smallDigits };

beforeAll(() => {
  for (const [name, load] of Object.entries(DATA)) {
    if (!datasets.has(`contract-${name}`)) datasets.register({ name: `contract-${name}`, description: 'test teacher-student data', load: async () => load() });
  }
});

describe('rule contract tables', () => {
  it('have a row for every registered rule', () => {
    expect(uncovered().rules).toEqual([]);
  });
});

const read = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe.each(FEEDFORWARD_ROWS.map((r) => ({ ...r, label: `${r.rule} on ${r.model}${r.modelOptions['dale'] ? ' (Dale)' : ''}` })))('contract: $label', ({ rule, ruleOptions, model, modelOptions, data, lr, steps }) => {
  const spec = {
    dataset: `contract-${data}`,
    rule,
    model,
    modelOptions,
    ...(ruleOptions ? { ruleOptions } : {}),
    // Rules that apply their own updates take no optimizer.
    ...(rules.get(rule).output === 'gradient' ? { optimizer: 'adam' as const, lr } : {}),
    batchSize: 32,
    steps,
    logEvery: 10,
    evalEvery: 100,
    seed: 11,
  };
  const build = () => {
    const ds = DATA[data]();
    const entry = models.get(model);
    return { ds, m: entry.create(resolveOptions(`model ${model}`, entry.options ?? [], modelOptions), ds) };
  };

  it('returns finite outputs shaped like the trainable parameters it trains', async () => {
    const { ds, m } = build();
    const entry = rules.get(rule);
    const r = entry.create(resolveOptions(`rule ${rule}`, entry.options ?? [], ruleOptions));
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
    tf.dispose([out.loss, out.output, ...Object.values(out.updates), ...Object.values(params), ...Object.values(state.tensors), batch.x, batch.y]);
  });

  it('lowers the test loss without growing the tensor count', async () => {
    const counts: number[] = [];
    const dir = tempDir();
    const before = tf.memory().numTensors;
    await train(spec, { out: dir, reporter: { progress: () => counts.push(tf.memory().numTensors) } });
    expect(tf.memory().numTensors).toBe(before);
    const evals = read(dir).filter((r) => r.type === 'eval');
    // The loss at initialisation, from the step-0 parameters the run kept.
    const { ds, m } = build();
    const initial = evaluate(m, readParamsDir(join(dir, 'init')).params, ds, 'test');
    const final = evals.at(-1).test;
    const perClass = new Array(ds.outputSize).fill(0);
    for (const y of ds.arrays('test').y) perClass[y]++;
    const majority = Math.max(...perClass) / ds.size('test');
    expect(final.loss).toBeLessThan(0.8 * initial.loss);
    expect(final.accuracy).toBeGreaterThan(majority + 0.1);
    // The loop holds a constant number of tensors from step to step.
    expect(new Set(counts.slice(5)).size).toBe(1);
  });

  it('gives the same numbers for the same seed, step for step, and the same final weights', async () => {
    const short = { ...spec, steps: 12, logEvery: 4, evalEvery: 6, diagEvery: 6 };
    const [a, b] = [tempDir(), tempDir()];
    for (const dir of [a, b]) await train(short, { out: dir });
    expect(timeless(read(a))).toEqual(timeless(read(b)));
    const wa = readParamsDir(join(a, 'checkpoint')).params;
    const wb = readParamsDir(join(b, 'checkpoint')).params;
    for (const k of Object.keys(wa)) expect(Array.from(wa[k]!.dataSync())).toEqual(Array.from(wb[k]!.dataSync()));
  });
});
