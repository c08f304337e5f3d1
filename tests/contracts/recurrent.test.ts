/**
 * The contract every temporal rule keeps on every registered recurrent model
 * whose capabilities it needs, on tasks: finite losses, a test loss that goes
 * down, no tensor growth, and identical numbers for identical seeds (on a short
 * run). The rows are in tests/contracts/rule-rows.ts; rules.test.ts checks that
 * every rule has one; the models are found in the registry.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { provides } from '../../src/capabilities.js';
import { UsageError } from '../../src/errors.js';
import { readParamsDir } from '../../src/checkpoint.js';
import { resolveOptions } from '../../src/options.js';
import { models, rules, tasks } from '../../src/registries.js';
import { train } from '../../src/trainer.js';
import type { Model } from '../../src/types.js';
import { tempDir, timeless } from '../helpers.js';
import { RECURRENT_BASE, RECURRENT_ELSEWHERE, TEMPORAL_ROWS, type TaskRow, type TemporalRow } from './rule-rows.js';

const TASKS: TaskRow[] = [
  { task: 'perceptual-decision', datasetOptions: { trials: 256, testTrials: 64, dt: 20 } },
  { task: 'pattern', datasetOptions: { trials: 64, testTrials: 16, dt: 20 } },
];

/** A registered model built for a task with a row's options, if it provides a recurrent step. */
async function recurrentModel(name: string, options: Record<string, unknown>, task: TaskRow): Promise<Model | null> {
  const entry = models.get(name);
  const probe = await tasks.get(task.task).load(resolveOptions('task', tasks.get(task.task).options ?? [], task.datasetOptions));
  try {
    const m = entry.create(resolveOptions(`model ${name}`, entry.options ?? [], options), { inputShape: probe.inputShape, outputSize: probe.outputSize, dtMs: probe.dtMs! });
    return m.recurrent ? m : null;
  } catch (err) {
    // A model that refuses sequence data (convnet, vnn-conv) or needs more of it (gln's median gates).
    if (err instanceof UsageError) return null;
    throw err;
  }
}

const table: (Omit<TemporalRow, 'modelOptions'> & TaskRow & { modelOptions: Record<string, unknown>; model: string; label: string })[] = [];
for (const r of TEMPORAL_ROWS) {
  for (const t of r.tasks ?? TASKS) {
    for (const name of models.entries().map((e) => e.name).filter((n) => !RECURRENT_ELSEWHERE[n])) {
      const modelOptions = { ...RECURRENT_BASE[name], ...r.modelOptions?.[name] };
      const m = await recurrentModel(name, modelOptions, t);
      if (m && (rules.get(r.rule).requires ?? []).every((c) => provides(m, c))) table.push({ ...r, ...t, modelOptions, model: name, label: `${r.rule}${r.note ?? ''} on ${name}, ${t.task}` });
    }
  }
}
const recurrent = new Set(table.map((t) => t.model));

describe('the recurrent contract table', () => {
  it('covers the recurrent models of the registry', () => {
    expect([...recurrent]).toContain('rnn');
    // Every rule has at least one model to run on.
    expect(new Set(table.map((t) => t.rule))).toEqual(new Set(TEMPORAL_ROWS.map((r) => r.rule)));
  });
});

const read = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe.each(table)('recurrent contract: $label', ({ rule, ruleOptions, modelOptions, model, task, datasetOptions, batchSize }) => {
  // Update rules take no optimizer and train at their own batch size.
  const gradient = rules.get(rule).output === 'gradient';
  const spec = {
    task,
    datasetOptions,
    model,
    modelOptions,
    rule,
    ...(ruleOptions ? { ruleOptions } : {}),
    ...(gradient ? { lr: 1e-2, batchSize: 16 } : {}),
    ...(batchSize ? { batchSize } : {}),
    steps: 60,
    evalEvery: 30,
    logEvery: 10,
    diagEvery: 0,
    seed: 3,
  };

  it('lowers the test loss with finite training losses, without growing the tensor count', async () => {
    const counts: number[] = [];
    const dir = tempDir();
    const before = tf.memory().numTensors;
    await train(spec, { out: dir, reporter: { progress: () => counts.push(tf.memory().numTensors) } });
    expect(tf.memory().numTensors).toBe(before);
    const evals = read(dir).filter((r) => r.type === 'eval');
    expect(evals[0].step).toBe(0);
    expect(evals.at(-1).test.loss).toBeLessThan(0.8 * evals[0].test.loss);
    for (const r of read(dir).filter((x) => x.type === 'train')) expect(Number.isFinite(r.loss)).toBe(true);
    expect(new Set(counts.slice(5)).size).toBe(1);
  });

  it('gives the same numbers for the same seed (a short run, twice)', async () => {
    const short = { ...spec, steps: 6, evalEvery: 3, logEvery: 2 };
    const [a, b] = [tempDir(), tempDir()];
    for (const dir of [a, b]) await train(short, { out: dir });
    expect(timeless(read(a))).toEqual(timeless(read(b)));
    const [wa, wb] = [a, b].map((d) => readParamsDir(join(d, 'checkpoint')).params);
    for (const k of Object.keys(wa!)) expect(Array.from(wa![k]!.dataSync())).toEqual(Array.from(wb![k]!.dataSync()));
  });
});
