/**
 * The central contracts: parameters as named tensor maps, models, learning rules,
 * datasets, and the registry entries that build them. Everything else in
 * biocredit is written against these types.
 *
 * Conventions: examples are rows. A dense layer computes a = h W + b with W of
 * shape [fanIn, fanOut], so W here is the transpose of the papers' W in
 * a = W h + b; feedback matrices follow the same row convention.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Loss, LossKind } from './losses.js';
import type { LayerOps, Padding } from './ops.js';
import type { OptionValue } from './options.js';
import type { RegistryItem } from './registry.js';
import type { Rng } from './rng.js';

/** Parameters (or anything shaped like them): stable slash names → tensors. */
export type Params = Record<string, tf.Tensor>;

export type ParamRole = 'weight' | 'bias' | 'gain' | 'state';

/** A constraint kept by projecting after every update (nonnegativity, Dale signs, masks). */
export interface Constraint {
  name: string;
  project(value: tf.Tensor): tf.Tensor;
  /** How many entries break the constraint (0 for a projected tensor). */
  violations(value: tf.Tensor): number;
}

export interface ParamSpec {
  shape: number[];
  role: ParamRole;
  /** Defaults to true. Fixed parameters (gates, masks) are saved but never updated. */
  trainable?: boolean;
  constraint?: Constraint;
}

/** What one layer computed, for rules that assign credit from local quantities. */
export interface LayerTrace {
  name: string;
  /** The layer's input h_{l-1}. */
  input: tf.Tensor;
  /** Pre-activation a_l. */
  pre: tf.Tensor;
  /** Post-activation h_l = f(a_l) (equal to `pre` for the output layer). */
  post: tf.Tensor;
}

export interface ForwardResult {
  output: tf.Tensor;
  trace: LayerTrace[];
}

export interface ForwardOptions {
  /** True during training steps (noise, dropout); false for evaluation. */
  training?: boolean;
  /** The layer operations to route through (default: plainOps). */
  ops?: LayerOps;
  /** Recurrent models: cut the gradient through the state every this many steps (truncated BPTT). */
  truncate?: number;
  /** The stream training-time noise is drawn from (models with noise; none: noise-free). */
  rng?: Rng;
}

/** A layer with weights, as rules that replace the backward pathway need to know it. */
export interface LayerInfo {
  name: string;
  kind: 'dense' | 'conv';
  /** Parameter names of the layer's weight (and bias). */
  weight: string;
  bias?: string;
  /** True for layers followed by an activation; false for the output layer. */
  hidden: boolean;
  /** Per-example shape of the layer's output h_l (before any pooling). */
  outputShape: number[];
  /** For conv layers. */
  stride?: number;
  pad?: Padding;
}

export interface Model {
  /** Registry name of the model family. */
  readonly name: string;
  /** Parameter declarations, in a fixed order (the order of checkpoints and optimizer slots). */
  readonly specs: Readonly<Record<string, ParamSpec>>;
  init(rng: Rng): Params;
  forward(params: Params, x: tf.Tensor, opts?: ForwardOptions): ForwardResult;
  /**
   * Degree L when the output is positively homogeneous in the trainable
   * parameters (f(cθ) = c^L f(θ); gated linear networks without biases), for
   * normalized margins min_i y_i f(x_i) / ‖θ‖^L.
   */
  readonly homogeneity?: number;
  /** Largest batch one forward pass should take (memory-heavy models); evaluation splits larger batches. */
  readonly maxBatch?: number;
  /**
   * The weighted layers in forward order, for models that route their forward
   * pass through ForwardOptions.ops (needed by fa, dfa and the sign-symmetry rules).
   */
  readonly layers?: readonly LayerInfo[];
}

export type Split = 'train' | 'val' | 'test';

export interface Batch {
  x: tf.Tensor;
  /** Integer class labels [B] for classification; targets for regression tasks. */
  y: tf.Tensor;
  /** Loss mask for tasks with periods that do not count. */
  mask?: tf.Tensor;
  /** Tasks: each trial's own number of steps (the rest of the batch's time axis is padding). */
  steps?: Int32Array;
  size: number;
}

export interface Dataset {
  readonly name: string;
  /** Shape of one example, e.g. [784] or [28, 28, 1]. */
  readonly inputShape: number[];
  /** Number of outputs the model must produce (classes for classification). */
  readonly outputSize: number;
  readonly loss: LossKind;
  size(split: Split): number;
  /** Time step in ms of sequence data (trial-based tasks). */
  readonly dtMs?: number;
  /** The examples at `indices` of `split`, as tensors. */
  batch(split: Split, indices: ArrayLike<number>): Batch;
}

/** What a model needs to know about the data to build itself. */
export interface DataInfo {
  inputShape: number[];
  outputSize: number;
  /** Time step of sequence data in ms (tasks), for continuous-time models. */
  dtMs?: number;
  /** All training inputs as one tensor (the caller disposes it), for data-dependent initialisation. */
  trainInputs?: () => tf.Tensor;
}

/** Everything a rule may keep between steps: fixed feedback matrices, traces, RLS matrices. */
export interface RuleState {
  tensors: Record<string, tf.Tensor>;
}

export interface RuleContext {
  model: Model;
  params: Params;
  batch: Batch;
  loss: Loss;
  state: RuleState;
  /** Number of updates applied so far. */
  step: number;
  /** The rule's own stream (per-batch random feedback, perturbations). */
  rng: Rng;
  /** The stream of this step's model noise (derived from the seed and the step). */
  noise?: Rng;
}

export interface RuleStep {
  /**
   * For 'gradient' rules, a gradient estimate per trainable parameter: the
   * optimizer steps against it. For 'delta' rules, the change to add as-is.
   */
  updates: Params;
  /** The batch loss at the parameters before the update. */
  loss: tf.Scalar;
  /** The model output on the batch (for running metrics). */
  output: tf.Tensor;
  /** The next rule state; omitted when the state does not change. */
  state?: RuleState;
}

/** Alignment of one layer's feedback pathway with the weights backprop would use. */
export interface FeedbackDiagnostic {
  /** Angle in degrees between the feedback matrix and its backprop counterpart. */
  angle: number;
  /** ‖feedback‖ / ‖backprop counterpart‖ (Frobenius). */
  normRatio: number;
}

export interface LearningRule {
  readonly name: string;
  readonly mode: 'gradient' | 'delta';
  /** Throws a UsageError when the rule cannot train this model (checked before any work). */
  check?(model: Model): void;
  init(model: Model, params: Params, rng: Rng): RuleState;
  step(ctx: RuleContext): RuleStep;
  /** New values for parameters the rule constrains itself (e.g. weight norms), applied after every update. */
  constrain?(params: Params, state: RuleState): Params;
  /** Per-layer diagnostics of the rule's feedback pathway, keyed by layer name. */
  feedbackDiagnostics?(model: Model, params: Params, state: RuleState): Record<string, FeedbackDiagnostic>;
}

export type ResolvedOptions = Record<string, OptionValue>;

export interface ModelEntry extends RegistryItem {
  create(options: ResolvedOptions, data: DataInfo): Model;
}

export interface RuleEntry extends RegistryItem {
  create(options: ResolvedOptions): LearningRule;
}

export interface DatasetEntry extends RegistryItem {
  /** `seed` is the run seed, for datasets with seeded choices (training subsets). */
  load(options: ResolvedOptions, ctx?: { seed: number }): Promise<Dataset>;
}

/** What an analysis recorded during training sees. */
export interface AnalysisContext {
  model: Model;
  params: Params;
  dataset: Dataset;
  /** The first `points` examples of a split are used (file order). */
  points: number;
  /** A stream derived from the run seed and the step. */
  rng: Rng;
}

export interface AnalysisEntry extends RegistryItem {
  /** Named numbers to record in metrics.jsonl. */
  measure(ctx: AnalysisContext): Record<string, number | boolean>;
}
