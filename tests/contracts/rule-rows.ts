/**
 * The rows of the rule contract tables: every registered rule on the models it
 * supports (tests/contracts/rules.test.ts for feedforward data,
 * tests/contracts/recurrent.test.ts for tasks). A registered rule without a row
 * fails the suite.
 */

export interface FeedforwardRow {
  rule: string;
  ruleOptions?: Record<string, unknown>;
  model: string;
  modelOptions: Record<string, unknown>;
  data: 'flat' | 'image';
  /** Adam's rate for gradient rules; rules that apply their own updates take none. */
  lr?: number;
  steps: number;
}

export interface TaskRow {
  task: string;
  datasetOptions: Record<string, unknown>;
}

export interface TemporalRow {
  rule: string;
  ruleOptions?: Record<string, unknown>;
  /** Options by model, beyond the model's base options (RECURRENT_BASE). */
  modelOptions?: Record<string, Record<string, unknown>>;
  /** Tasks of its own, instead of the table's (rules that regress a signal rather than classify). */
  tasks?: TaskRow[];
  /** Trials per step, for an update rule whose own default is larger than the table's tasks. */
  batchSize?: number;
  note?: string;
}

/** The options every recurrent model runs the temporal contract with; a model not listed runs at its defaults. */
export const RECURRENT_BASE: Record<string, Record<string, unknown>> = {
  rnn: { units: 32, activation: 'tanh' },
};

/**
 * Recurrent models left out of the temporal table, with where they are trained instead: a
 * Morris–Lecar network integrates 0.05 ms substeps, so 60 BPTT steps on these tasks take minutes.
 */
export const RECURRENT_ELSEWHERE: Record<string, string> = {
  'morris-lecar': 'tests/models/morris-lecar.test.ts (bptt and es on a short working-memory task)',
};

// Feedback alignment on conv nets needs width: with 4 and 8 filters and a
// 16-unit layer, fa and dfa do not learn at all in a few hundred steps.
const MODELS: Omit<FeedforwardRow, 'rule'>[] = [
  { model: 'mlp', modelOptions: { hidden: [32, 16] }, data: 'flat', lr: 2e-3, steps: 300 },
  { model: 'convnet', modelOptions: { arch: 'c8k3-m2-c16k3v-m2-d64' }, data: 'image', lr: 1e-3, steps: 500 },
  { model: 'gln', modelOptions: { hidden: [16], gates: 2, threshold: 'random' }, data: 'flat', lr: 2e-3, steps: 300 },
  // Under Dale's law the sign-symmetry rules' feedback signs are fixed by cell type; brsf needs the larger step.
  { model: 'mlp', modelOptions: { hidden: [32, 16], dale: 0.8 }, data: 'flat', lr: 3e-3, steps: 300 },
];

export const FEEDFORWARD_ROWS: FeedforwardRow[] = [
  ...['bp', 'fa', 'dfa', 'usf', 'frsf', 'brsf'].flatMap((rule) => MODELS.map((m) => ({ rule, ...m }))),
  // Vectorized nonnegative networks: their own rule (gevb), and backprop through them.
  { rule: 'gevb', model: 'vnn', modelOptions: { hidden: [32, 16] }, data: 'flat', lr: 2e-3, steps: 300 },
  { rule: 'bp', model: 'vnn', modelOptions: { hidden: [32, 16] }, data: 'flat', lr: 2e-3, steps: 300 },
  { rule: 'gevb', model: 'vnn-conv', modelOptions: { channels: [8], hidden: [32] }, data: 'image', lr: 1e-3, steps: 300 },
  { rule: 'bp', model: 'vnn-conv', modelOptions: { channels: [8], hidden: [32] }, data: 'image', lr: 1e-3, steps: 300 },
  // Evolution strategies, through the mlp's vectorised population forward pass.
  { rule: 'es', ruleOptions: { population: 32 }, model: 'mlp', modelOptions: { hidden: [32, 16] }, data: 'flat', steps: 300 },
];

export const TEMPORAL_ROWS: TemporalRow[] = [
  { rule: 'bptt' },
  { rule: 'tbptt', ruleOptions: { window: 10 } },
  { rule: 'eprop' },
  { rule: 'rflo' },
  { rule: 'modprop', modelOptions: { rnn: { dale: 0.8 } }, note: ' (E/I)' },
  { rule: 'bptt', modelOptions: { rnn: { recNoise: 0.05, inputNoise: 0.05 } }, note: ' with noise' },
  // Evolution strategies through the rnn's vectorised population forward pass (every member sees the same trials and noise).
  { rule: 'es', ruleOptions: { population: 16, sigma: 0.1 }, batchSize: 16 },
  // The target-based rules learn a signal online, one trial per step, at their papers' τ.
  ...['force', 'full-force'].map((rule) => ({
    rule,
    modelOptions: { rnn: { tau: 20, ...(rule === 'force' ? { outputFeedback: 1, gain: 1.5 } : {}) } },
    tasks: [
      { task: 'chirp', datasetOptions: { trials: 64, testTrials: 4, dt: 5, durationMs: 800 } },
      { task: 'sum-of-sines', datasetOptions: { trials: 64, testTrials: 1, dt: 5, durationMs: 1200 } },
    ],
  })),
];
