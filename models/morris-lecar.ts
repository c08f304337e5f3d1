/**
 * A network of Morris–Lecar neurons with kinetic synapses (Morris & Lecar 1981;
 * the parameter sets of Rinzel & Ermentrout 1998; synapses after Destexhe,
 * Mainen, Sejnowski 1994), the biophysical network that Hazelden, Liu,
 * Shlizerman & Shea-Brown (2023) train with evolution strategies. Per neuron i
 * (V in mV, t in ms, currents in µA/cm², conductances in mS/cm²):
 *
 *   C dV/dt = I_i − g_L(V − E_L) − g_Ca m∞(V)(V − E_Ca) − g_K w (V − E_K) + I_syn,i
 *   dw/dt   = φ (w∞(V) − w) cosh((V − V3)/(2V4))
 *   ds/dt   = a_r T(V)(1 − s) − a_d s
 *   m∞ = ½[1 + tanh((V − V1)/V2)],  w∞ = ½[1 + tanh((V − V3)/V4)],  T(V) = 1/(1 + e^(−(V − 2)/5))
 *   I_syn,i = −ḡ Σ_j W_ji s_j (V_i − E_j),   I_i = u W_in + b
 *
 * with a_r 1.1, a_d 0.19 ms⁻¹, E_j = 0 mV for the first ⌈pN⌉ (excitatory)
 * neurons and −75 mV for the rest (`--excitatory p`), so Dale's law holds by the
 * reversal potentials while the conductances W ≥ 0 (a constraint kept after
 * every update). The output is read from the synaptic variables,
 * z = s W_out + b_out. Trained: W_in, W, the bias currents b, W_out, b_out.
 *
 * Presets (`--preset`): hopf (class II excitability: firing starts at a
 * nonzero frequency) C 20, g_L 2, g_K 8, g_Ca 4.4, E_L −60, E_K −84, E_Ca 120,
 * V1 −1.2, V2 18, V3 2, V4 30, φ 0.04; snlc (class I: firing starts near
 * 0 Hz) the same with g_Ca 4, V3 12, V4 17.4, φ 1/15. The constants of
 * Hazelden et al. are not public; these are the standard sets.
 *
 * Time: each task step (the task's `--dt`) is integrated in substeps of
 * `--step-ms` (default 0.05 ms) by `--integrator` euler, exp-euler (V by Euler;
 * w and s by their exact relaxation over the substep at the substep's start
 * voltage, stable for any τ_w) or rk4, with V clamped to [−120, 150] mV and w, s
 * to [0, 1] after each substep. The state starts at V = −60 mV, w = w∞(−60), s = 0.
 *
 * Capabilities: a recurrent step (one task step) and a vectorised population
 * forward pass; not the rate equation, so e-prop, RFLO, ModProp and rate
 * analyses refuse it. Backprop through time differentiates the whole
 * substep chain (its instability on long stiff trials is what ES avoids).
 */
import * as tf from '@tensorflow/tfjs';
import { nonnegative } from '../src/constraints.js';
import { defineModel } from '../src/entries.js';
import { UsageError } from '../src/errors.js';
import { option, parse, type OptionsOf } from '../src/options.js';
import { addBatchedBias, batchedProduct } from '../src/population.js';
import type { Rng } from '../src/rng.js';
import type { DataInfo, LayerTrace, Model, Params, ParamSpec, State, StepOptions, StepResult } from '../src/types.js';

export interface MorrisLecarConstants {
  C: number;
  gL: number;
  gK: number;
  gCa: number;
  EL: number;
  EK: number;
  ECa: number;
  V1: number;
  V2: number;
  V3: number;
  V4: number;
  phi: number;
}

const HOPF: MorrisLecarConstants = { C: 20, gL: 2, gK: 8, gCa: 4.4, EL: -60, EK: -84, ECa: 120, V1: -1.2, V2: 18, V3: 2, V4: 30, phi: 0.04 };
export const PRESETS: Record<'hopf' | 'snlc', MorrisLecarConstants> = {
  hopf: HOPF,
  snlc: { ...HOPF, gCa: 4, V3: 12, V4: 17.4, phi: 1 / 15 },
};

/** Synaptic rise and decay rates (ms⁻¹) and reversal potentials (mV). */
const RISE = 1.1;
const DECAY = 0.19;
const E_EXCITATORY = 0;
const E_INHIBITORY = -75;
const V_START = -60;
const V_RANGE = [-120, 150] as const;

export const morrisLecarOptions = [
  option('units', '--units <n>', 'number of neurons', 100, parse.positiveInt),
  option('preset', '--preset <name>', 'hopf (class II, Rinzel & Ermentrout) or snlc (class I)', 'hopf' as 'hopf' | 'snlc', parse.choice(['hopf', 'snlc'] as const)),
  option('excitatory', '--excitatory <p>', 'fraction of excitatory neurons (synapses reverse at 0 mV; the rest at −75 mV)', 0.8, (raw) => {
    const v = parse.nonNegativeNumber(raw);
    if (v > 1) throw new Error('must be a fraction in [0, 1]');
    return v;
  }),
  option('synapticGain', '--synaptic-gain <ḡ>', 'ḡ, the scale of the synaptic conductances (mS/cm²)', 1, parse.nonNegativeNumber),
  option('biasCurrent', '--bias-current <I>', 'initial bias current of every neuron (µA/cm²; the hopf set starts firing near 90, snlc near 40)', 80, (raw) => {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) throw new Error('must be a number');
    return v;
  }),
  option('inputScale', '--input-scale <s>', 'W_in ~ N(0, s²/inputs): µA/cm² per unit of input', 20, parse.nonNegativeNumber),
  option('stepMs', '--step-ms <ms>', 'integration substep (a divisor of the task’s --dt)', 0.05, parse.positiveNumber),
  option('integrator', '--integrator <how>', 'euler, exp-euler (exact relaxation of w and s) or rk4', 'exp-euler' as 'euler' | 'exp-euler' | 'rk4', parse.choice(['euler', 'exp-euler', 'rk4'] as const)),
] as const;

export type MorrisLecarOptions = OptionsOf<typeof morrisLecarOptions>;

const ROLES = { input: 'ml/Win', recurrent: 'ml/W', readout: 'ml/Wout', bias: 'ml/b', readoutBias: 'ml/bout' };

/** The membrane and synapse equations of one substep, on tensors of any leading shape. */
export function morrisLecarDynamics(k: MorrisLecarConstants) {
  const half = (v: tf.Tensor, center: number, width: number) => tf.mul(0.5, tf.add(1, tf.tanh(tf.div(tf.sub(v, center), width))));
  const wInf = (V: tf.Tensor) => half(V, k.V3, k.V4);
  /** 1/τ_w = φ cosh((V − V3)/(2V4)). */
  const wRate = (V: tf.Tensor) => {
    const a = tf.div(tf.sub(V, k.V3), 2 * k.V4);
    return tf.mul(k.phi, tf.mul(0.5, tf.add(tf.exp(a), tf.exp(tf.neg(a)))));
  };
  const release = (V: tf.Tensor) => tf.sigmoid(tf.div(tf.sub(V, 2), 5));
  /** dV/dt for current I (input, bias and synaptic). */
  const dV = (V: tf.Tensor, w: tf.Tensor, I: tf.Tensor) => {
    const leak = tf.mul(k.gL, tf.sub(V, k.EL));
    const calcium = tf.mul(tf.mul(k.gCa, half(V, k.V1, k.V2)), tf.sub(V, k.ECa));
    const potassium = tf.mul(tf.mul(k.gK, w), tf.sub(V, k.EK));
    return tf.div(tf.sub(tf.sub(tf.sub(I, leak), calcium), potassium), k.C);
  };
  const dw = (V: tf.Tensor, w: tf.Tensor) => tf.mul(wRate(V), tf.sub(wInf(V), w));
  const ds = (V: tf.Tensor, s: tf.Tensor) => tf.sub(tf.mul(tf.mul(RISE, release(V)), tf.sub(1, s)), tf.mul(DECAY, s));
  return { wInf, wRate, release, dV, dw, ds };
}

export function createMorrisLecar(opts: MorrisLecarOptions, data: DataInfo): Model {
  if (data.inputShape.length !== 2) {
    throw new UsageError(`model morris-lecar needs sequence inputs [time, channels] (a task, --task); this dataset has examples of shape [${data.inputShape.join(', ')}]`);
  }
  const dtTask = data.dtMs ?? 1;
  const substeps = Math.round(dtTask / opts.stepMs);
  if (substeps < 1 || Math.abs(substeps * opts.stepMs - dtTask) > 1e-6 * dtTask) {
    throw new UsageError(`--step-ms ${opts.stepMs} must divide the task's --dt ${dtTask} ms`);
  }
  const h = opts.stepMs;
  const n = opts.units;
  const nIn = data.inputShape[1]!;
  const nOut = data.outputSize;
  const nE = Math.ceil(opts.excitatory * n);
  const k = PRESETS[opts.preset];
  const eq = morrisLecarDynamics(k);

  const specs: Record<string, ParamSpec> = {
    'ml/Win': { shape: [nIn, n], role: 'weight' },
    'ml/W': { shape: [n, n], role: 'weight', constraint: nonnegative() },
    'ml/b': { shape: [n], role: 'bias' },
    'ml/Wout': { shape: [n, nOut], role: 'weight' },
    'ml/bout': { shape: [nOut], role: 'bias' },
  };

  const init = (rng: Rng): Params => {
    // Half-normal conductances, no autapses, each neuron's summed input conductance ≈ 1 before ḡ.
    const W = Float32Array.from(rng.normals(n * n, Math.sqrt(Math.PI / 2) / n), (v, idx) => (Math.floor(idx / n) === idx % n ? 0 : Math.abs(v)));
    return {
      'ml/Win': tf.tensor2d(rng.normals(nIn * n, opts.inputScale / Math.sqrt(nIn)), [nIn, n]),
      'ml/W': tf.tensor2d(W, [n, n]),
      'ml/b': tf.fill([n], opts.biasCurrent),
      'ml/Wout': tf.tensor2d(rng.normals(n * nOut, 1 / Math.sqrt(n)), [n, nOut]),
      'ml/bout': tf.zeros([nOut]),
    };
  };

  /** The initial state for a batch, or a population's [P, B, N]. */
  const initState = (_params: Params, batch: number, members?: number): State => {
    const lead = members === undefined ? [batch] : [members, batch];
    return tf.tidy(() => ({
      V: tf.fill([...lead, n], V_START),
      w: tf.mul(tf.ones([...lead, n]), eq.wInf(tf.scalar(V_START))),
      s: tf.zeros([...lead, n]),
    }));
  };

  const clampState = (V: tf.Tensor, w: tf.Tensor, s: tf.Tensor): State => ({
    V: tf.clipByValue(V, V_RANGE[0], V_RANGE[1]),
    w: tf.clipByValue(w, 0, 1),
    s: tf.clipByValue(s, 0, 1),
  });

  /** x's entries [from, from + count) along `axis`. */
  const rows = (x: tf.Tensor, from: number, count: number, axis: number) => {
    const begin = new Array<number>(x.rank).fill(0);
    const size = new Array<number>(x.rank).fill(-1);
    begin[axis] = from;
    size[axis] = count;
    return tf.slice(x, begin, size);
  };
  /** The presynaptic groups whose reversal potential enters I_syn (E at 0 mV drops out): [first neuron, count, E]. */
  const groups = ([[0, nE, E_EXCITATORY], [nE, n - nE, E_INHIBITORY]] as const).filter(([, count, E]) => count > 0 && E !== 0);
  /** W and its rows per group, sliced once per task step rather than in every substep. */
  const synapses = (W: tf.Tensor) => ({ W, groups: groups.map(([from, count, E]) => ({ from, count, E, rows: rows(W, from, count, W.rank - 2) })) });
  type Synapses = ReturnType<typeof synapses>;

  /** One substep of length h with the external current `drive` (input and bias) held. */
  const substep = (syn: Synapses, st: State, drive: tf.Tensor): State => {
    const g = opts.synapticGain;
    // I_syn,i = −ḡ [ (s W)_i V_i − Σ_j s_j E_j W_ji ], the second sum over each group's rows of W (no constant tensor to keep).
    const reversed = (s: tf.Tensor) => {
      const parts = syn.groups.map((q) => tf.mul(q.E, batchedProduct(rows(s, q.from, q.count, s.rank - 1), q.rows)));
      return parts.length ? tf.addN(parts) : tf.zerosLike(drive);
    };
    const current = (V: tf.Tensor, s: tf.Tensor) => tf.add(drive, tf.mul(-g, tf.sub(tf.mul(batchedProduct(s, syn.W), V), reversed(s))));
    const { V, w, s } = st as { V: tf.Tensor; w: tf.Tensor; s: tf.Tensor };
    if (opts.integrator === 'rk4') {
      const f = (v: tf.Tensor, x: tf.Tensor, y: tf.Tensor) => [eq.dV(v, x, current(v, y)), eq.dw(v, x), eq.ds(v, y)] as const;
      const k1 = f(V, w, s);
      const at = (c: number, kk: readonly tf.Tensor[]) => [tf.add(V, tf.mul(c, kk[0]!)), tf.add(w, tf.mul(c, kk[1]!)), tf.add(s, tf.mul(c, kk[2]!))] as const;
      const k2 = f(...at(h / 2, k1));
      const k3 = f(...at(h / 2, k2));
      const k4 = f(...at(h, k3));
      const sum = (i: number) => tf.mul(h / 6, tf.add(tf.add(k1[i]!, tf.mul(2, k2[i]!)), tf.add(tf.mul(2, k3[i]!), k4[i]!)));
      return clampState(tf.add(V, sum(0)), tf.add(w, sum(1)), tf.add(s, sum(2)));
    }
    const nextV = tf.add(V, tf.mul(h, eq.dV(V, w, current(V, s))));
    if (opts.integrator === 'euler') return clampState(nextV, tf.add(w, tf.mul(h, eq.dw(V, w))), tf.add(s, tf.mul(h, eq.ds(V, s))));
    // Exact relaxation of dx/dt = a − b x over h: x∞ + (x − x∞)e^(−bh), x∞ = a/b.
    const wInf = eq.wInf(V);
    const wNext = tf.add(wInf, tf.mul(tf.sub(w, wInf), tf.exp(tf.mul(-h, eq.wRate(V)))));
    const rise = tf.mul(RISE, eq.release(V));
    const rate = tf.add(rise, DECAY);
    const sInf = tf.div(rise, rate);
    const sNext = tf.add(sInf, tf.mul(tf.sub(s, sInf), tf.exp(tf.mul(-h, rate))));
    return clampState(nextV, wNext, sNext);
  };

  /** One task step: the substeps, then the readout of s. */
  const advance = (params: Params, state: State, input: tf.Tensor) => {
    const drive = addBatchedBias(batchedProduct(input, params['ml/Win']!), params['ml/b']!);
    const syn = synapses(params['ml/W']!);
    let st = state;
    for (let i = 0; i < substeps; i++) st = substep(syn, st, drive);
    const output = addBatchedBias(batchedProduct(st['s']!, params['ml/Wout']!), params['ml/bout']!);
    return { state: st, output };
  };

  const step = (params: Params, state: State, input: tf.Tensor2D, options?: StepOptions): StepResult => {
    // A rule that feeds back a target requires 'output-feedback', which this network does not provide.
    if (options?.feedback) throw new Error('model morris-lecar has no output feedback weights');
    const s = advance(params, state, input);
    return { state: s.state, output: s.output as tf.Tensor2D, activity: s.state['s'] as tf.Tensor2D };
  };

  /** Runs the trial, keeping each task step's V, s and output; a step's intermediates go at once (a tape keeps what backprop needs). */
  const run = (params: Params, u: tf.Tensor, members?: number) => {
    let state = initState(params, u.shape[0]!, members);
    const Vs: tf.Tensor[] = [];
    const ss: tf.Tensor[] = [];
    const zs: tf.Tensor[] = [];
    for (const input of tf.unstack(u, 1)) {
      const s = tf.tidy(() => advance(params, state, input));
      state = s.state;
      Vs.push(state['V']!);
      ss.push(state['s']!);
      zs.push(s.output);
    }
    return { Vs, ss, zs };
  };

  return {
    name: 'morris-lecar',
    // Every task step keeps V, w, s and the output: cap a forward batch at ~4M state entries per trace.
    maxBatch: Math.max(1, Math.floor(4e6 / (data.inputShape[0]! * n))),
    specs,
    init,
    recurrent: { roles: ROLES, initState, step, noise: () => [] },
    forward(params, u) {
      const { Vs, ss, zs } = run(params, u);
      const V = tf.stack(Vs, 1);
      const s = tf.stack(ss, 1);
      const output = tf.stack(zs, 1);
      const trace: LayerTrace[] = [
        { name: 'ml', input: u, pre: V, post: s },
        { name: 'out', input: s, pre: output, post: output },
      ];
      return { output, trace };
    },
    populationForward(params, population, u) {
      const members = Object.values(population)[0]!.shape[0]!;
      return tf.stack(run({ ...params, ...population }, u, members).zs, 2);
    },
  };
}

export const morrisLecar = defineModel({
  name: 'morris-lecar',
  description: 'network of Morris–Lecar neurons with kinetic E/I synapses (--preset hopf|snlc, --integrator euler|exp-euler|rk4, --step-ms)',
  reference: 'Morris & Lecar 1981; Rinzel & Ermentrout 1998; Hazelden, Liu, Shlizerman, Shea-Brown 2023',
  options: morrisLecarOptions,
  create: (o, data) => createMorrisLecar(o, data),
});
