/**
 * The central contracts: parameters as named tensor maps, losses, models and the
 * capabilities they provide, learning rules, datasets, analyses, and the registry
 * entries that build them. Everything else in biocredit is written against these
 * types; src/capabilities.ts checks what a rule or analysis requires of a model.
 *
 * Conventions: examples are rows. A dense layer computes a = h W + b with W of
 * shape [fanIn, fanOut], so W here is the transpose of the papers' W in
 * a = W h + b; feedback matrices follow the same row convention.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Activation } from './activations.js';
import type { LayerOps, Padding } from './ops.js';
import type { OptionSpec, OptionValue } from './options.js';
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

export type LossKind = 'softmax-ce' | 'sigmoid-bce' | 'mse' | 'mse-decision' | 'sequence-ce' | 'mae';

export interface Loss {
  readonly kind: LossKind;
  /** Mean loss over the batch. */
  value(output: tf.Tensor, batch: Batch): tf.Scalar;
  /** One mean loss per member of a population: outputs [P, B, …] on the same batch → [P]. */
  values(outputs: tf.Tensor, batch: Batch): tf.Tensor1D;
  /** d(mean loss)/d(output), e.g. (softmax(a) − onehot(y)) / B. */
  outputGrad(output: tf.Tensor, batch: Batch): tf.Tensor;
  /** Number of examples in the batch the model gets right (NaN for regression losses). */
  correct(output: tf.Tensor, batch: Batch): tf.Scalar;
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

/** The state of a recurrent model: named tensors, e.g. `{ x }` for a rate network. */
export type State = Record<string, tf.Tensor>;

/** The training noise of one time step (absent terms are zero). */
export interface StepNoise {
  /** Added to the step's input. */
  input?: tf.Tensor2D;
  /** Added to the state update. */
  rec?: tf.Tensor2D;
}

export interface StepOptions {
  noise?: StepNoise;
  /**
   * The output fed back into the network this step [B, outputs] (a target for
   * teacher forcing); default: the model's own last output. Only models with
   * output feedback weights (`roles.feedback`) accept it.
   */
  feedback?: tf.Tensor2D;
}

export interface StepResult {
  state: State;
  /** The readout z_t [B, outputs]. */
  output: tf.Tensor2D;
  /** The activity the readout and the recurrent weights read [B, N] (rates of a rate network). */
  activity: tf.Tensor2D;
}

/** Parameter names by role, so rules read sizes and weights from `params` and never assume a model. */
export interface RecurrentRoles {
  /** W_in [inputs, N]. */
  input: string;
  /** J [N, N] (row j: unit j's outgoing weights). */
  recurrent: string;
  /** W_out [N, outputs]. */
  readout: string;
  /** Recurrent bias b [N]. */
  bias?: string;
  readoutBias?: string;
  /** Fixed connectivity mask applied to J. */
  mask?: string;
  /** Trainable initial state. */
  initialState?: string;
  /** Output feedback weights [outputs, N]. */
  feedback?: string;
}

/**
 * A recurrent model's step, for rules and analyses that run the dynamics
 * themselves (e-prop, RFLO, ModProp, RLS/FORCE, evolution strategies).
 */
export interface Recurrent {
  readonly roles: RecurrentRoles;
  initState(params: Params, batch: number): State;
  step(params: Params, state: State, input: tf.Tensor2D, options?: StepOptions): StepResult;
  /**
   * The parameters with what the step derives from them computed once (rnn: J ⊙ mask), for a
   * caller that runs many steps while they stay fixed (FORCE's J); `step` gives the same numbers
   * either way. The result holds new tensors the caller disposes (`prepared` lists them).
   */
  prepare?(params: Params): { params: Params; prepared: tf.Tensor[] };
  /** Per-step training noise for a trial of `steps` steps, drawn from `rng` (empty when noise-free or `rng` is absent). */
  noise(rng: Rng | undefined, batch: number, steps: number): StepNoise[];
  /**
   * A whole trial at once, for a caller that would otherwise run `step` T times from
   * `initState` with `noise` (rnn: the native whole-trial kernels): the inputs as the
   * network received them [T, B, inputs], the potentials and rates of steps 0 … T
   * [T + 1, B, N] (time-major) and the outputs [B, T, outputs], equal to the per-step
   * results up to float32 rounding. Undefined or null when the model has no such form on
   * the active backend; first-order differentiable at most.
   */
  trial?(params: Params, u: tf.Tensor3D, noise: StepNoise[]): TrialRun | null;
}

/** What `Recurrent.trial` returns. */
export interface TrialRun {
  inputs: tf.Tensor3D;
  states: tf.Tensor3D;
  rates: tf.Tensor3D;
  output: tf.Tensor3D;
}

/**
 * The rate equation x ← (1 − α) x + α(f(x) J + u W_in + b), for rules and
 * analyses that use it (eligibility traces, the Jacobian of the dynamics). A
 * model whose dynamics have other terms (output feedback, conductances) does not
 * provide it.
 */
export interface RateDynamics {
  /** The factor of the update: dt/τ (Euler), or 1 − e^(−dt/τ) when integrated exactly over a step of constant drive. */
  readonly alpha: number;
  /** dt/τ itself, for rules that integrate a network of their own alongside (full-FORCE's teacher). */
  readonly dtOverTau: number;
  readonly activation: Activation;
  /** Presynaptic sign of every unit: +1 excitatory, −1 inhibitory (all +1 without Dale's law). */
  readonly signs: Float32Array;
  /** The state entry holding the potentials x. */
  readonly potential: string;
}

/** A layer of a vectorized network (activations [B, K, …]), as GEVB reads it. */
export interface VectorLayer extends LayerInfo {
  /** Parameter name of the fixed gating vectors (hidden layers). */
  gate?: string;
  /** True for the first (mixed-sign, per-component) layer. */
  first: boolean;
  /** Conv layers: the pooling window after the gate (1: none). */
  pool?: number;
}

/** Vectorized units: every hidden unit carries a K-vector and passes it whole or not at all. */
export interface VectorUnits {
  readonly layers: readonly VectorLayer[];
  /** The gate of a layer's units given its pre-activation a and gating vectors t: 1 where the unit passes. */
  gateMask(pre: tf.Tensor, t: tf.Tensor): tf.Tensor;
}

export interface GatedLayer {
  name: string;
  /** Parameter name of its weight [fanIn, units·contexts]: column j·C + c is unit j's vector for context c. */
  weight: string;
  units: number;
  /** Contexts per unit (1 for an ungated readout). */
  contexts: number;
  gated: boolean;
}

/** Units whose weights are chosen by a context computed from the raw input (gated linear networks). */
export interface GatedContexts {
  readonly layers: readonly GatedLayer[];
  /** Context index [B, units] (int32) of every unit of gated layer `layer` on raw inputs x. */
  contexts(params: Params, layer: string, x: tf.Tensor): tf.Tensor2D;
}

export interface Model {
  /** Registry name of the model family. */
  readonly name: string;
  /** Parameter declarations, in a fixed order (the order of checkpoints and optimizer slots). */
  readonly specs: Readonly<Record<string, ParamSpec>>;
  init(rng: Rng): Params;
  forward(params: Params, x: tf.Tensor, opts?: ForwardOptions): ForwardResult;
  /** Largest batch one forward pass should take (memory-heavy models); evaluation splits larger batches. */
  readonly maxBatch?: number;

  // Capabilities: what the model provides to rules and analyses (src/capabilities.ts).

  /** The weighted layers in forward order, routed through ForwardOptions.ops (fa, dfa, sign-symmetry). */
  readonly layers?: readonly LayerInfo[];
  /**
   * Degree L when the output is positively homogeneous in the trainable
   * parameters (f(cθ) = c^L f(θ); gated linear networks without biases), for
   * normalized margins min_i y_i f(x_i) / ‖θ‖^L.
   */
  readonly homogeneity?: number;
  /** False when autodiff through the forward pass is not meaningful (the gradient-based analyses and diagnostics skip it). */
  readonly differentiable?: boolean;
  readonly recurrent?: Recurrent;
  readonly rate?: RateDynamics;
  readonly vector?: VectorUnits;
  readonly gated?: GatedContexts;
  /**
   * Outputs [P, B, …] of P parameter sets on one batch, vectorised: `population`
   * holds [P, …shape] tensors for the parameters that vary, the others come from
   * `params`. Models without it are evaluated member by member (src/population.ts).
   */
  populationForward?(params: Params, population: Params, x: tf.Tensor): tf.Tensor;
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
  /** Tasks with hint channels [B, T, hints]: signals a target-generating network may be given (full-FORCE), never the trained one. */
  hints?: tf.Tensor;
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
  /** Hint channels its batches carry (Batch.hints); absent: none. */
  readonly hintSize?: number;
  /** The examples at `indices` of `split`, as tensors. */
  batch(split: Split, indices: ArrayLike<number>): Batch;
  /**
   * Measures of a model's output on example `index` that only the task can
   * define (a produced interval's error), from its output rows [steps × outputs];
   * evaluation averages them over the split.
   */
  trialMetrics?(split: Split, index: number, output: Float32Array): Record<string, number>;
}

/** What a model needs to know about the data to build itself. */
export interface DataInfo {
  inputShape: number[];
  outputSize: number;
  /** Time step of sequence data in ms (tasks), for continuous-time models. */
  dtMs?: number;
  /** Hint channels of the task's batches (Batch.hints). */
  hints?: number;
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

/**
 * What a rule returns: a gradient estimate that an optimizer steps against, or
 * an update added as it is (RuleEntry.output).
 */
export type RuleOutput = 'gradient' | 'update';

export interface RuleStep {
  /**
   * 'gradient' rules: a gradient estimate for each parameter the rule trains
   * (the same parameters at every step). 'update' rules: the change to add, for
   * any subset of the trainable parameters. Parameters left out are not touched.
   */
  updates: Params;
  /** The batch loss at the parameters before the update. */
  loss: tf.Scalar;
  /** The model output on the batch (for running metrics). */
  output: tf.Tensor;
  /** The next rule state; omitted when the state does not change. */
  state?: RuleState;
  /** Named scalars of the rule's own, recorded in metrics.jsonl (mean over each --log-every window). */
  metrics?: Record<string, tf.Scalar>;
}

/** Alignment of one layer's feedback pathway with the weights backprop would use. */
export interface FeedbackDiagnostic {
  /** Angle in degrees between the feedback matrix and its backprop counterpart. */
  angle: number;
  /** ‖feedback‖ / ‖backprop counterpart‖ (Frobenius). */
  normRatio: number;
}

/** One run's instance of a rule, made by its RuleEntry from the resolved options. */
export interface LearningRule {
  /** Throws a UsageError when the rule cannot train this model beyond what `requires` says (checked before any work). */
  check?(model: Model): void;
  /** `data` describes the dataset (outputs, hint channels) for rules that draw weights of their own, such as a teacher network. */
  init(model: Model, params: Params, rng: Rng, data?: DataInfo): RuleState;
  step(ctx: RuleContext): RuleStep;
  /** New values for parameters the rule constrains itself (e.g. weight norms), applied after every update. */
  constrain?(params: Params, state: RuleState): Params;
  /** Per-layer diagnostics of the rule's feedback pathway, keyed by layer name. */
  feedbackDiagnostics?(model: Model, params: Params, state: RuleState): Record<string, FeedbackDiagnostic>;
}

export type ResolvedOptions = Record<string, OptionValue>;

/** What every registry entry carries: name, a line for `biocredit list`, the paper, typed options. */
export interface RegistryItem {
  name: string;
  /** One line for `biocredit list`. */
  description: string;
  /** The paper or source the item follows, e.g. "Lillicrap et al. 2016, Nat Commun". */
  reference?: string;
  options?: readonly OptionSpec[];
}

/**
 * What a model provides, or a rule or analysis requires (src/capabilities.ts):
 * weighted layers routed through LayerOps, a recurrent step, output feedback
 * into it (StepOptions.feedback), the rate equation,
 * vectorized units, gated contexts, homogeneity in the weights, a differentiable
 * forward pass.
 */
export type Capability = 'layers' | 'recurrent' | 'output-feedback' | 'rate-dynamics' | 'vector-units' | 'gated-contexts' | 'homogeneous' | 'differentiable';

export interface ModelEntry extends RegistryItem {
  create(options: ResolvedOptions, data: DataInfo): Model;
}

/**
 * Settings a rule's papers train with, used wherever the command does not give
 * them (config.json records the values used): full-FORCE's one trial per step
 * and a network that starts at J = 0, for instance.
 */
export interface RuleDefaults {
  batchSize?: number;
  /** Steps between training-loss records and between gradient-alignment diagnostics (0: none). */
  logEvery?: number;
  diagEvery?: number;
  /** Model options, applied to a model that has them. */
  model?: Record<string, OptionValue>;
}

export interface RuleEntry extends RegistryItem {
  /** 'gradient': an optimizer steps against the rule's output; 'update': the output is added as is, with no optimizer. */
  output: RuleOutput;
  requires?: readonly Capability[];
  defaults?: RuleDefaults;
  create(options: ResolvedOptions): LearningRule;
}

export interface DatasetEntry extends RegistryItem {
  /** A batch size for datasets too small for the defaults (one trajectory): used when the command gives none, before any rule's default. */
  batchSize?: number;
  /** `seed` is the run seed, for datasets with seeded choices (training subsets). */
  load(options: ResolvedOptions, ctx?: { seed: number }): Promise<Dataset>;
}
