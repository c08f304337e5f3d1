/**
 * The Morris–Lecar network's dynamics: single-neuron f–I curves of the two
 * presets show class II (hopf: firing starts at a nonzero frequency) and
 * class I (snlc: firing starts near 0 Hz) excitability, at the currents the
 * literature gives (onset near 90 and 40 µA/cm²); spike times converge as the
 * substep is halved and agree across integrators; kinetic synapses excite or
 * inhibit by their reversal potential; rules that need the rate equation refuse it;
 * bptt and es train it on a short working-memory task (finite losses, the
 * gradient norm logged, no tensor growth, the same numbers for a seed).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMorrisLecar, morrisLecarOptions, type MorrisLecarOptions } from '../../models/morris-lecar.js';
import { optionDefaults } from '../../src/options.js';
import { Rng } from '../../src/rng.js';
import { train } from '../../src/trainer.js';
import { oneLineError, runCli, tempDir, timeless } from '../helpers.js';

/** Upward crossings of 0 mV (linearly interpolated, ms) of every trace of V [B, T, N] sampled every `dt` ms. */
function spikeTimes(V: number[][][], dt: number, neuron = 0): number[][] {
  return V.map((trace) => {
    const times: number[] = [];
    for (let t = 1; t < trace.length; t++) {
      const [a, b] = [trace[t - 1]![neuron]!, trace[t]![neuron]!];
      if (a < 0 && b >= 0) times.push((t - 1 + -a / (b - a)) * dt + dt);
    }
    return times;
  });
}

/** V of single uncoupled neurons, one per current in `currents` (µA/cm²), over `ms`, sampled every `dt` ms (substeps of 0.25 ms unless given: the f–I curves are the same as at 0.05 ms to the spike). */
function simulate(options: Partial<MorrisLecarOptions>, currents: number[], ms: number, dt = 0.25): number[][][] {
  const T = Math.round(ms / dt);
  const model = createMorrisLecar({ ...optionDefaults(morrisLecarOptions), units: 1, stepMs: 0.25, ...options }, { inputShape: [T, 1], outputSize: 1, dtMs: dt });
  const params = model.init(new Rng('ml-test'));
  // The input channel carries the current: W_in = 1, b = 0 (one unit has no synapse: no autapses).
  tf.dispose([params['ml/Win']!, params['ml/b']!]);
  params['ml/Win'] = tf.ones([1, 1]);
  params['ml/b'] = tf.zeros([1]);
  return tf.tidy(() => {
    const u = tf.tile(tf.tensor3d(currents, [currents.length, 1, 1]), [1, T, 1]);
    return model.forward(params, u).trace[0]!.pre.arraySync() as number[][][];
  });
}

/** Firing rate (Hz) from the last interspike interval, 0 without two spikes after the first 100 ms. */
const rate = (times: number[]) => {
  const late = times.filter((t) => t > 100);
  return late.length >= 2 ? 1000 / (late.at(-1)! - late.at(-2)!) : 0;
};

describe('Morris–Lecar neuron', () => {
  it('hopf preset: class II, firing jumps from 0 to about 10 Hz between 88 and 90 µA/cm²', () => {
    const currents = [80, 84, 88, 90, 95, 100];
    const rates = spikeTimes(simulate({ preset: 'hopf' }, currents, 1200), 0.25).map(rate);
    expect(rates.slice(0, 3)).toEqual([0, 0, 0]);
    expect(rates[3]).toBeGreaterThan(8);
    expect(rates[3]).toBeLessThan(12);
    expect(rates[5]).toBeGreaterThan(rates[3]!);
  });

  it('snlc preset: class I, firing starts near 0 Hz (about 1 Hz at 40 µA/cm²) and grows continuously', () => {
    const currents = [38, 39, 40, 41, 45];
    const rates = spikeTimes(simulate({ preset: 'snlc' }, currents, 2200), 0.25).map(rate);
    expect(rates.slice(0, 2)).toEqual([0, 0]);
    expect(rates[2]).toBeGreaterThan(0);
    expect(rates[2]).toBeLessThan(2);
    expect(rates[3]).toBeGreaterThan(rates[2]!);
    expect(rates[4]).toBeGreaterThan(rates[3]!);
  });

  it('halving the substep moves the first spike times by less than 0.2 ms; the integrators agree within 0.5 ms', () => {
    const first = (options: Partial<MorrisLecarOptions>) => spikeTimes(simulate({ preset: 'hopf', ...options }, [95], 150, 0.1), 0.1)[0]!;
    const coarse = first({ stepMs: 0.1 });
    const fine = first({ stepMs: 0.05 });
    expect(coarse).toHaveLength(2);
    coarse.forEach((t, i) => expect(Math.abs(t - fine[i]!)).toBeLessThan(0.2));
    for (const integrator of ['euler', 'rk4'] as const) {
      first({ stepMs: 0.1, integrator }).forEach((t, i) => expect(Math.abs(t - fine[i]!)).toBeLessThan(0.5));
    }
  });
});

describe('Morris–Lecar synapses', () => {
  it('an excitatory presynaptic neuron depolarises its target, an inhibitory one hyperpolarises it', () => {
    // Two neurons: 0 fires (current 100), 1 sits below threshold (current 60) and receives from 0.
    const dt = 0.5;
    const T = 400;
    const meanV1 = (excitatory: number) => {
      const model = createMorrisLecar({ ...optionDefaults(morrisLecarOptions), units: 2, excitatory, synapticGain: 2 }, { inputShape: [T, 2], outputSize: 1, dtMs: dt });
      const params = model.init(new Rng('ml-syn'));
      tf.dispose([params['ml/Win']!, params['ml/b']!, params['ml/W']!]);
      params['ml/Win'] = tf.eye(2);
      params['ml/b'] = tf.zeros([2]);
      params['ml/W'] = tf.tensor2d([[0, 1], [0, 0]]);
      return tf.tidy(() => {
        const u = tf.tile(tf.tensor3d([[[100, 60]]]), [1, T, 1]);
        const V = model.forward(params, u).trace[0]!.pre.arraySync() as number[][][];
        return V[0]!.slice(100).reduce((a, v) => a + v[1]!, 0) / (T - 100);
      });
    };
    // excitatory 0.5 → neuron 0 is E (reverses at 0 mV); 0 → both inhibitory (−75 mV).
    const [excited, inhibited] = [meanV1(0.5), meanV1(0)];
    expect(excited).toBeGreaterThan(inhibited + 5);
  });

  it('is refused by rules that need the rate equation, in one line', () => {
    const r = runCli(['train', '--model', 'morris-lecar', '--task', 'perceptual-decision', '--rule', 'eprop', '--steps', '1']);
    expect(r.code).toBe(2);
    oneLineError(r, /^biocredit: error: rule eprop needs rate dynamics; model morris-lecar does not provide them$/);
  });
});

describe('Morris–Lecar training', () => {
  const read = (dir: string) =>
    readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  // 150 ms trials at dt 10 ms in 1 ms substeps: 150 substeps per trial.
  const base = {
    task: 'working-memory',
    datasetOptions: { trials: 32, testTrials: 8, cueMs: 20, delayMs: 30, responseMs: 50 },
    model: 'morris-lecar',
    modelOptions: { units: 6, stepMs: 1 },
    batchSize: 8,
    steps: 4,
    evalEvery: 2,
    logEvery: 1,
    diagEvery: 0,
    seed: 5,
  };

  it.each([
    ['bptt', { lr: 0.01 }],
    ['es', { ruleOptions: { population: 6, sigma: 0.5 } }],
  ])('%s: finite losses and gradient norms, no tensor growth, the same numbers for a seed', async (rule, extra) => {
    const spec = { ...base, rule, ...extra };
    const counts: number[] = [];
    const [a, b] = [tempDir(), tempDir()];
    const before = tf.memory().numTensors;
    await train(spec, { out: a, reporter: { progress: () => counts.push(tf.memory().numTensors) } });
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(counts.slice(1)).size).toBe(1);
    await train(spec, { out: b });
    expect(timeless(read(b))).toEqual(timeless(read(a)));
    const steps = read(a).filter((r) => r.type === 'train');
    expect(steps).toHaveLength(4);
    for (const r of steps) {
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(Number.isFinite(r.updateNorm) && r.updateNorm > 0).toBe(true);
    }
  });
});
