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
    for (let i = 0; i < Math.min(20, ds.size('train')); i++) {
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
    const dt = tasks.get(name).options!.find((o) => o.key === 'dt')!.default as number;
    const coarse = await load(name, { dt });
    const fine = await load(name, { dt: dt / 4 });
    const [c, f] = [coarse.trial('train', 1), fine.trial('train', 1)];
    expect(f.steps / c.steps).toBeCloseTo(4, 0);
    for (const [period, [s, e]] of Object.entries(c.periods)) {
      const [fs, fe] = f.periods[period]!;
      expect(fe * (dt / 4) - fs * (dt / 4)).toBeCloseTo((e - s) * dt, -1.5);
    }
    expect(coarse.dtMs).toBe(dt);
  });
});

describe('tasks', () => {
  it('delayed XOR: +1 when exactly one cue is present, −1 when both or neither', async () => {
    const ds = await load('delayed-xor');
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const tr = ds.trial('train', i);
      const peak = (p: string, ch: number) => {
        const [s, e] = tr.periods[p]!;
        return Math.max(...Array.from({ length: e - s }, (_, k) => tr.inputs[2 * (s + k) + ch]!));
      };
      const [c1, c2] = [peak('cue1', 0) > 1, peak('cue2', 1) > 1];
      expect(peak('cue1', 1)).toBeLessThan(0.1);
      expect(peak('delay', 0)).toBeLessThan(0.1);
      seen.add(`${c1}${c2}`);
      expect(tr.targets[tr.periods['decision']![0]]).toBe(c1 !== c2 ? 1 : -1);
      expect(tr.periods['cue2']![0] - tr.periods['cue1']![1]).toBe(70);
    }
    expect(seen.size).toBe(4);
    // --readout softmax: two logits (match, mismatch), one-hot at the decision steps, cross-entropy.
    const sm = await load('delayed-xor', { readout: 'softmax' });
    expect(sm.outputSize).toBe(2);
    expect(sm.loss).toBe('sequence-ce');
    for (let i = 0; i < 10; i++) {
      const [a, b] = [ds.trial('train', i), sm.trial('train', i)];
      const d = b.periods['decision']![0];
      expect(Array.from(b.targets.subarray(2 * d, 2 * d + 2))).toEqual(a.targets[d] === 1 ? [0, 1] : [1, 0]);
      expect(Array.from(b.inputs)).toEqual(Array.from(a.inputs));
    }
    // --decision-ms 0: no decision period; the answer is read at the last step of cue 2 only.
    const last = await load('delayed-xor', { readout: 'softmax', decisionMs: 0 });
    expect(last.inputShape[0]).toBe(10 + 70 + 10);
    for (let i = 0; i < 10; i++) {
      const [a, b] = [sm.trial('train', i), last.trial('train', i)];
      expect(b.steps).toBe(90);
      expect(b.periods['decision']).toBeUndefined();
      expect(b.periods['cue2']).toEqual([80, 90]);
      expect(Array.from(b.mask).map((m, t) => (m ? t : -1)).filter((t) => t >= 0)).toEqual([89]);
      const d = a.periods['decision']![0];
      expect(Array.from(b.targets.subarray(2 * 89, 2 * 90))).toEqual(Array.from(a.targets.subarray(2 * d, 2 * d + 2)));
      // Same cues as the trial with a decision period, up to the end of cue 2.
      expect(Array.from(b.inputs)).toEqual(Array.from(a.inputs.subarray(0, 2 * 90)));
    }
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
    const h = (await load('pattern', { dt: 10, periodMs: 1000, durationMs: 1000, harmonics: true })).trial('train', 0);
    const [hs] = h.periods['output']!;
    const ph = (2 * Math.PI * 130) / 1000;
    expect(h.targets[hs + 13]).toBeCloseTo(Math.sin(ph) + 0.5 * Math.sin(2 * ph) + 0.25 * Math.sin(4 * ph), 6);
    await expect(load('pattern', { chirp: true, harmonics: true }).then((d) => d.trial('train', 0))).rejects.toThrow(/--chirp or --harmonics/);
  });

  it('ready-set-go: the go pulse starts gain × the realised ready–set interval after set, to the nearest step', async () => {
    for (const [dt, gainFactor] of [[10, 1], [10, 1.5], [20, 1], [7, 0.8]] as const) {
      const ds = await load('ready-set-go', { dt, gainFactor });
      for (let i = 0; i < 10; i++) {
        const tr = ds.trial('train', i);
        const interval = (tr.periods['set']![0] - tr.periods['ready']![0]) * dt;
        const go = tr.targets.findIndex((v) => v === 1);
        expect(Math.abs((go - tr.periods['set']![0]) * dt - gainFactor * interval)).toBeLessThanOrEqual(dt / 2 + 1e-9);
        expect(tr.targets.filter((v) => v === 1).length).toBe(Math.round(100 / dt));
        expect(interval).toBeGreaterThanOrEqual(400 - dt);
        expect(interval).toBeLessThanOrEqual(1000 + dt);
        expect(tr.steps).toBeLessThanOrEqual(ds.maxSteps);
      }
    }
    await expect(load('ready-set-go', { gainFactor: 0.1 })).rejects.toThrow(/--gain-factor 0.1 × --min-interval 400 puts the go pulse inside/);
  });

  it('ready-set-go --form bump: a 500 ms beta(4,4) bump peaking at 1.0 on a −0.5 baseline from the go time; the ramp hint peaks at the delay mid-set and ends at go', async () => {
    const dt = 5;
    const ds = await load('ready-set-go', { dt, form: 'bump', hint: 'ramp', minInterval: 150, maxInterval: 2150 });
    expect(ds.hintSize).toBe(1);
    for (let i = 0; i < 5; i++) {
      const tr = ds.trial('train', i);
      const setStart = tr.periods['set']![0];
      const interval = (setStart - tr.periods['ready']![0]) * dt;
      const go = setStart + Math.round(interval / dt);
      const bump = Array.from(tr.targets.slice(go, go + 100));
      expect(tr.targets[go - 1]).toBe(-0.5);
      expect(bump[0]).toBeCloseTo(-0.5, 6);
      // The peak, 1.0, in the middle of the window (99 intervals: between steps 49 and 50).
      expect(Math.max(...bump)).toBeGreaterThan(0.999);
      expect(bump.indexOf(Math.max(...bump))).toBeGreaterThanOrEqual(49);
      expect(bump.indexOf(Math.max(...bump))).toBeLessThanOrEqual(50);
      expect(Array.from(tr.targets.slice(go + 100, tr.steps)).every((v) => v === -0.5)).toBe(true);
      expect(Array.from(tr.mask.slice(0, tr.steps)).every((m) => m === 1)).toBe(true);
      // The hint: 0 before the delay, the delay in seconds at the middle of set, back to 0 at go.
      const hint = tr.hints!;
      const delaySec = (setStart - tr.periods['measure']![0]) * dt / 1000;
      expect(hint[tr.periods['ready']![0]]).toBe(0);
      expect(Math.max(...Array.from(hint))).toBeCloseTo(delaySec, 5);
      expect(hint[go]).toBeCloseTo(0, 6);
      expect(delaySec).toBeGreaterThanOrEqual(0.1 - dt / 1000);
      expect(delaySec).toBeLessThanOrEqual(2.1 + dt / 1000);
    }
    await expect(load('ready-set-go', { hint: 'ramp' })).rejects.toThrow(/--hint ramp belongs to --form bump/);
    expect((await load('ready-set-go', { form: 'bump' })).hintSize).toBe(0);
  });

  it.each(['pulse', 'bump'])('ready-set-go --form %s measures the produced interval’s error and the error inside the response window', async (form) => {
    const dt = 10;
    const ds = await load('ready-set-go', { dt, form });
    for (let i = 0; i < 4; i++) {
      const tr = ds.trial('test', i);
      const exact = Float32Array.from(tr.targets);
      expect(ds.trialMetrics!('test', i, exact)).toEqual({ intervalErrorMs: 0, windowNmse: 0 });
      // The same response 7 steps late: 70 ms off, and mostly wrong inside the window.
      const late = new Float32Array(tr.steps).fill(form === 'bump' ? -0.5 : 0);
      for (let t = 0; t + 7 < tr.steps; t++) late[t + 7] = tr.targets[t]!;
      const m = ds.trialMetrics!('test', i, late);
      expect(m['intervalErrorMs']).toBe(70);
      expect(m['windowNmse']).toBeGreaterThan(0.05);
    }
  });

  it('delayed comparison: +1 exactly when the first frequency is higher', async () => {
    const ds = await load('delayed-comparison', { stimulusNoise: 0 });
    const seen = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const tr = ds.trial('train', i);
      const [f1, f2] = [tr.inputs[tr.periods['f1']![0]]!, tr.inputs[tr.periods['f2']![0]]!];
      expect(Math.abs(f1 - f2) * 34).toBeCloseTo(8, 4);
      for (const f of [f1, f2]) {
        expect(f * 34).toBeGreaterThan(9.99);
        expect(f * 34).toBeLessThan(34.01);
      }
      const target = tr.targets[tr.periods['decision']![0]]!;
      expect(target).toBe(f1 > f2 ? 1 : -1);
      seen.add(target);
    }
    expect(seen.size).toBe(2);
  });

  it('match-to-sample: +1 exactly when the test direction is the sample direction', async () => {
    const ds = await load('match-to-sample', { stimulusNoise: 0 });
    let matches = 0;
    for (let i = 0; i < 40; i++) {
      const tr = ds.trial('train', i);
      const at = (p: string) => [tr.inputs[2 * tr.periods[p]![0]]!, tr.inputs[2 * tr.periods[p]![0] + 1]!];
      const [a, b] = [at('sample'), at('test')];
      const same = Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!) < 1e-6;
      expect(tr.targets[tr.periods['decision']![0]]).toBe(same ? 1 : -1);
      matches += same ? 1 : 0;
    }
    expect(matches).toBeGreaterThan(8);
    expect(matches).toBeLessThan(32);
  });

  it('seq-mnist: row r of the digit at step r, its class one-hot at the last step only, MNIST split sizes', async () => {
    const ds = await load('seq-mnist', { source: 'mnist-mini' });
    const mini = (await import('../../datasets/mnist.js')).loadMnistMini({ val: 0 });
    expect(ds.size('train')).toBe(mini.size('train'));
    expect(ds.size('test')).toBe(mini.size('test'));
    expect(ds.inputShape).toEqual([28, 28]);
    const { x, y } = mini.arrays('test');
    const tr = ds.trial('test', 5);
    expect(Array.from(tr.inputs)).toEqual(Array.from(x.subarray(5 * 784, 6 * 784)));
    expect(Array.from(tr.mask)).toEqual([...new Array(27).fill(0), 1]);
    expect(Array.from(tr.targets.subarray(27 * 10))).toEqual(Array.from({ length: 10 }, (_, c) => (c === y[5] ? 1 : 0)));
    await expect(load('seq-mnist', { source: 'mnist-mini', rowMs: 5 })).rejects.toThrow(/--row-ms 5 is shorter than --dt 10/);
  });
});
