/** The contract every registered task keeps. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TaskDataset } from '../../datasets/tasks/task.js';
import { resolveOptions } from '../../src/options.js';
import { tasks } from '../../src/registries.js';

const load = async (name: string, given: Record<string, unknown> = {}) => {
  const e = tasks.get(name);
  return (await e.load(resolveOptions(`task ${name}`, e.options ?? [], given))) as TaskDataset;
};

describe.each(tasks.names())('task %s', (name) => {
  it('has trials whose periods tile the trial, with inputs, targets and mask of the stated sizes', async () => {
    const ds = await load(name);
    const [T, nIn] = ds.inputShape as [number, number];
    for (let i = 0; i < 20; i++) {
      const tr = ds.trial('train', i);
      expect(tr.steps).toBeLessThanOrEqual(T);
      expect(tr.inputs.length).toBe(tr.steps * nIn);
      expect(tr.targets.length).toBe(tr.steps * ds.outputSize);
      expect(tr.mask.length).toBe(tr.steps);
      const spans = Object.values(tr.periods).sort((a, b) => a[0] - b[0]);
      expect(spans[0]![0]).toBe(0);
      for (let k = 1; k < spans.length; k++) expect(spans[k]![0]).toBe(spans[k - 1]![1]);
      expect(spans.at(-1)![1]).toBe(tr.steps);
      expect(tr.mask.every((m) => m === 0 || m === 1)).toBe(true);
      expect(tr.mask.some((m) => m === 1)).toBe(true);
      // Targets count only where the mask is on.
      for (let t = 0; t < tr.steps; t++) if (tr.mask[t] === 0) for (let k = 0; k < ds.outputSize; k++) expect(tr.targets[t * ds.outputSize + k]).toBe(0);
      expect(Array.from(tr.inputs).every(Number.isFinite)).toBe(true);
    }
  });

  it('gives the same trial for the same index, in any batch, and pads with mask 0', async () => {
    const ds = await load(name);
    const a = ds.trial('train', 7);
    const b = (await load(name)).trial('train', 7);
    expect(Array.from(b.inputs)).toEqual(Array.from(a.inputs));
    expect(Array.from(b.targets)).toEqual(Array.from(a.targets));
    const batch = ds.batch('train', [3, 7]);
    const [T, nIn] = ds.inputShape as [number, number];
    expect(batch.x.shape).toEqual([2, T, nIn]);
    expect(batch.y.shape).toEqual([2, T, ds.outputSize]);
    expect(batch.mask!.shape).toEqual([2, T]);
    const x = batch.x.arraySync() as number[][][];
    expect(x[1]!.slice(0, a.steps).flat()).toEqual(Array.from(a.inputs));
    const mask = batch.mask!.arraySync() as number[][];
    expect(mask[1]!.slice(a.steps).every((m) => m === 0)).toBe(true);
    tf.dispose([batch.x, batch.y, batch.mask!]);
    // Train and test trials come from different streams.
    expect(ds.size('test')).toBeGreaterThan(0);
    expect(() => ds.trial('train', ds.size('train'))).toThrow(/no train trial/);
  });

  it('keeps its timing when dt changes', async () => {
    const coarse = await load(name, { dt: 20 });
    const fine = await load(name, { dt: 5 });
    const [c, f] = [coarse.trial('train', 1), fine.trial('train', 1)];
    expect(f.steps / c.steps).toBeCloseTo(4, 0);
    for (const [period, [s, e]] of Object.entries(c.periods)) {
      const [fs, fe] = f.periods[period]!;
      expect(fe * 5 - fs * 5).toBeCloseTo((e - s) * 20, -1.5);
    }
    expect(coarse.dtMs).toBe(20);
  });
});

describe('tasks', () => {
  it('delayed XOR: the target is +1 when the cues differ and −1 when they match', async () => {
    const ds = await load('delayed-xor');
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const tr = ds.trial('train', i);
      const cue = (p: string) => (tr.inputs[2 * tr.periods[p]![0]] === 1 ? 'a' : 'b');
      const [c1, c2] = [cue('cue1'), cue('cue2')];
      seen.add(c1 + c2);
      const target = tr.targets[tr.periods['decision']![0]];
      expect(target).toBe(c1 === c2 ? -1 : 1);
    }
    expect(seen.size).toBe(4);
  });

  it('perceptual decision: the target has the sign of the mean evidence difference (for strong coherence)', async () => {
    const ds = await load('perceptual-decision', { noise: 0 });
    for (let i = 0; i < 30; i++) {
      const tr = ds.trial('train', i);
      const [s, e] = tr.periods['stimulus']!;
      let diff = 0;
      for (let t = s; t < e; t++) diff += tr.inputs[2 * t]! - tr.inputs[2 * t + 1]!;
      const target = tr.targets[tr.periods['decision']![0]]!;
      if (Math.abs(diff) > 1e-6) expect(Math.sign(diff)).toBe(target);
      else expect(Math.abs(target)).toBe(1);
    }
  });

  it('pattern: a sine of the stated period after the start pulse', async () => {
    const ds = await load('pattern', { dt: 10, periodMs: 500, durationMs: 1000 });
    const tr = ds.trial('train', 0);
    const [s, e] = tr.periods['output']!;
    expect(e - s).toBe(100);
    expect(tr.targets[s + 25]).toBeCloseTo(Math.sin((2 * Math.PI * 250) / 500), 6);
    expect(tr.inputs[0]).toBe(1);
    expect(tr.inputs[s]).toBe(0);
  });
});
