/**
 * Optimizers are tfjs's own (sgd, momentum, adam, rmsprop). This module adds what
 * the trainer needs around them: coupled L2 weight decay on weights (g += λ W,
 * as in torch's `weight_decay`), global gradient-norm clipping, the projection
 * that keeps constrained parameters feasible, and exact state save/restore.
 * They serve 'gradient' rules; an 'update' rule's change (RLS and other rules
 * that define their own step) is added as it is by `applyUpdate`, with no
 * optimizer, decay or clipping.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from './errors.js';
import { fusedAdam, hasFusedAdam } from './kernels/adam.js';
import type { ParamStore } from './params.js';
import { globalNorm, type NamedTensor } from './tensors.js';
import type { Params } from './types.js';

export const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'rmsprop'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  /** Momentum coefficient of the `momentum` optimizer. */
  momentum: number;
  /** Coupled L2 decay λ on parameters whose role is 'weight'. */
  weightDecay: number;
  /** Clip the global gradient norm to this value; 0 turns clipping off. */
  clipNorm: number;
  /** Step decay: the rate is lr · factor^⌊step / every⌋ (absent: constant rate). */
  decay?: { factor: number; every: number };
}

/** The learning rate in effect for update number `step` (counting from 0). */
export function learningRateAt(cfg: OptimizerConfig, step: number): number {
  return cfg.decay ? cfg.lr * cfg.decay.factor ** Math.floor(step / cfg.decay.every) : cfg.lr;
}

/** Default learning rate per optimizer when --lr is not given. */
export const DEFAULT_LR: Record<OptimizerName, number> = { sgd: 0.1, momentum: 0.01, adam: 1e-3, rmsprop: 1e-3 };

function build(cfg: OptimizerConfig): tf.Optimizer {
  switch (cfg.name) {
    case 'sgd':
      return tf.train.sgd(cfg.lr);
    case 'momentum':
      return tf.train.momentum(cfg.lr, cfg.momentum);
    case 'adam':
      return new Adam(cfg.lr, 0.9, 0.999);
    case 'rmsprop':
      return tf.train.rmsprop(cfg.lr);
  }
}

/** tfjs's Adam keeps β^t in two variables that setWeights recomputes with pow(); saving them keeps resume bit-exact. */
interface AdamInternals {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

type Slot = { originalName: string; variable: tf.Variable };

/**
 * tfjs's Adam (tf.train.adam's defaults), stepping each tensor with one native
 * kernel when the active backend has it (src/kernels/adam.ts: the same float32
 * operations in the same order, so the same bits as twelve kernels per tensor),
 * in tfjs's own slots: checkpoints and exact resume are unchanged.
 */
export class Adam extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!hasFusedAdam() || !Array.isArray(variableGradients)) return super.applyGradients(variableGradients);
    const own = this as unknown as Required<AdamInternals> & { accumulatedFirstMoment: Slot[]; accumulatedSecondMoment: Slot[] };
    const slot = (slots: Slot[], i: number, name: string, suffix: string, value: tf.Tensor) =>
      (slots[i] ??= { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) }).variable;
    const constants = { lr: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
    tf.tidy(() => {
      const c1 = tf.sub(1, own.accBeta1) as tf.Scalar;
      const c2 = tf.sub(1, own.accBeta2) as tf.Scalar;
      variableGradients.forEach(({ name, tensor: g }, i) => {
        const value = tf.engine().registeredVariables[name]!;
        const m = slot(own.accumulatedFirstMoment, i, name, 'm', value);
        const v = slot(own.accumulatedSecondMoment, i, name, 'v', value);
        const [x1, m1, v1] = fusedAdam(value, g, m, v, c1, c2, constants);
        m.assign(m1);
        v.assign(v1);
        value.assign(x1);
      });
      own.accBeta1.assign(tf.mul(own.accBeta1, this.beta1));
      own.accBeta2.assign(tf.mul(own.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}

export interface StepInfo {
  /** Global norm of the rule's update (with weight decay, before clipping). */
  updateNorm: number;
}

/**
 * The parameters a rule's output names, in spec order, after checking that each
 * is a trainable parameter of the right shape (a mistake in a rule, reported as such).
 */
export function updatedNames(store: ParamStore, updates: Params): string[] {
  const trainable = store.trainable();
  for (const [name, u] of Object.entries(updates)) {
    const spec = store.model.specs[name];
    if (!spec) throw new Error(`the rule returned an update for ${name}, which model ${store.model.name} does not have`);
    if (!trainable.includes(name)) throw new Error(`the rule returned an update for ${name}, which is not trainable`);
    if (u.shape.join('×') !== spec.shape.join('×')) throw new Error(`the rule's update of ${name} has shape ${u.shape.join('×')}, expected ${spec.shape.join('×')}`);
  }
  return trainable.filter((n) => updates[n] !== undefined);
}

/**
 * Adds an 'update' rule's change to the parameters it names (the others are not
 * touched), then re-imposes constraints. A change that is not finite is not
 * applied (the caller stops the run).
 */
export function applyUpdate(store: ParamStore, updates: Params): StepInfo {
  const names = updatedNames(store, updates);
  const delta = Object.fromEntries(names.map((n) => [n, updates[n]!]));
  const updateNorm = tf.tidy(() => globalNorm(delta).dataSync()[0]!);
  if (Number.isFinite(updateNorm)) {
    store.addDeltas(delta);
    store.project();
  }
  return { updateNorm };
}

export class Optimizer {
  private readonly opt: tf.Optimizer;
  /**
   * The parameters the rule trains. tfjs optimizers keep their slots by position
   * in the list passed to applyGradients, so the list must be the same at every
   * step (and match the slots of a restored state).
   */
  private names: string[] | null = null;
  /** Whether `names` came from a restored state (an older checkpoint may name more parameters than the rule trains). */
  private restored = false;

  constructor(readonly config: OptimizerConfig, private readonly store: ParamStore) {
    this.opt = build(config);
  }

  /**
   * Steps against a 'gradient' rule's output (the parameters it leaves out are
   * not touched), then re-imposes constraints. A gradient that is not finite is
   * not applied (the caller stops the run), so the parameters stay at their last
   * good values.
   */
  apply(updates: Params, step = 0): StepInfo {
    let names = updatedNames(this.store, updates);
    if (this.names === null) this.names = names;
    else if (names.join(',') !== this.names.join(',')) {
      // A checkpoint written when rules returned zeros for what they do not train has slots for
      // those parameters too: they keep getting zeros, so the slots stay in place.
      if (!this.restored || names.some((n) => !this.names!.includes(n))) {
        throw new Error(`the rule returned gradients for ${names.join(', ') || 'no parameter'} after ${this.names.join(', ')}; a gradient rule must train the same parameters at every step`);
      }
      names = this.names;
    }
    if (this.config.decay) this.setRate(learningRateAt(this.config, step));
    const params = this.store.values;
    const { weightDecay, clipNorm } = this.config;
    const updateNorm = tf.tidy(() => {
      let g: Params = {};
      for (const n of names) {
        const u = updates[n] ?? tf.zerosLike(params[n]!);
        const decay = weightDecay > 0 && this.store.model.specs[n]!.role === 'weight';
        g[n] = decay ? tf.add(u, tf.mul(weightDecay, params[n]!)) : u;
      }
      const norm = globalNorm(g).dataSync()[0]!;
      if (!Number.isFinite(norm)) return norm;
      if (clipNorm > 0 && norm > clipNorm) {
        const s = clipNorm / norm;
        g = Object.fromEntries(Object.entries(g).map(([k, t]) => [k, tf.mul(t, s)]));
      }
      this.opt.applyGradients(names.map((n) => ({ name: this.store.variableName(n), tensor: g[n]! })));
      return norm;
    });
    if (Number.isFinite(updateNorm)) this.store.project();
    return { updateNorm };
  }

  /** tfjs's SGD family caches the rate as a scalar (setLearningRate); Adam and RMSProp read the field. */
  private setRate(lr: number): void {
    const opt = this.opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
    if (opt.learningRate === lr) return;
    if (opt.setLearningRate) opt.setLearningRate(lr);
    else opt.learningRate = lr;
  }

  /** The optimizer's state as named tensors (copies owned by the caller). */
  async state(): Promise<NamedTensor[]> {
    const weights = await this.opt.getWeights();
    const out = weights.map((w) => ({ name: w.name.split(this.store.prefix).join(''), tensor: w.tensor.clone() }));
    // getWeights creates the iteration-count scalar afresh; the other entries are the optimizer's own variables.
    weights.find((w) => w.name === 'iter')?.tensor.dispose();
    const adam = this.opt as unknown as AdamInternals;
    if (this.config.name === 'adam' && adam.accBeta1 && adam.accBeta2) {
      out.push({ name: 'adam/accBeta1', tensor: adam.accBeta1.clone() }, { name: 'adam/accBeta2', tensor: adam.accBeta2.clone() });
    }
    return out;
  }

  async restore(weights: NamedTensor[]): Promise<void> {
    const slots = weights.filter((w) => !w.name.startsWith('adam/'));
    if (slots[0]?.name !== 'iter') throw new UsageError('optimizer state is missing its iteration count');
    // Slot names are `<parameter>/<slot>`: the parameters the rule was training, in order.
    const trained = [...new Set(slots.slice(1).map((w) => w.name.slice(0, w.name.lastIndexOf('/'))))];
    if (trained.length) {
      this.names = trained;
      this.restored = true;
    }
    await this.opt.setWeights(slots);
    const adam = this.opt as unknown as AdamInternals;
    for (const key of ['accBeta1', 'accBeta2'] as const) {
      const saved = weights.find((w) => w.name === `adam/${key}`);
      if (saved && adam[key]) adam[key].assign(saved.tensor);
    }
  }

  dispose(): void {
    this.opt.dispose();
  }
}
