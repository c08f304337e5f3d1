/** The rows of the analysis contract table (tests/contracts/analyses.test.ts): one per registered analysis. */
import type { TrainSpec } from '../../src/config.js';

/** The trained runs the analyses are checked on. */
export const ANALYSIS_RUNS: Record<'mlp' | 'rnn' | 'gln', TrainSpec> = {
  mlp: { dataset: 'mnist-mini', datasetOptions: { trainSize: 400 }, model: 'mlp', modelOptions: { hidden: [16] }, steps: 20, seed: 1 },
  rnn: { task: 'perceptual-decision', datasetOptions: { trials: 32, testTrials: 8, dt: 50 }, model: 'rnn', modelOptions: { units: 12 }, rule: 'bptt', steps: 4, batchSize: 8, seed: 1 },
  gln: {
    dataset: 'mnist-mini',
    datasetOptions: { binary: '0-4:5-9', pixels: '-1..1', biasInput: true, trainSize: 200 },
    model: 'gln',
    modelOptions: { hidden: [4], gates: 1 },
    optimizer: 'sgd',
    lr: 0.04,
    steps: 30,
    seed: 1,
  },
};

export interface AnalysisRow {
  /** The run it analyses (its model provides what the analysis requires). */
  on: keyof typeof ANALYSIS_RUNS;
  /** Options of `run`, beyond the defaults (absent: the analysis records during training only). */
  options?: Record<string, unknown>;
  /** A run whose model lacks a requirement (absent: it requires nothing every model lacks). */
  refusedOn?: keyof typeof ANALYSIS_RUNS;
}

export const ANALYSIS_ROWS: Record<string, AnalysisRow> = {
  hessian: { on: 'mlp', options: { hessian: 'top-k=2,trace,density', points: 100, probes: 6, densitySteps: 10, maxIter: 20 } },
  gap: { on: 'mlp', options: {} },
  sharpness: { on: 'mlp', options: { points: 100, epsilonSteps: 2 } },
  geometry: { on: 'mlp', options: { points: 50, kernelPoints: 4 } },
  'input-jacobian': { on: 'mlp', options: { points: 3 }, refusedOn: 'rnn' },
  'rich-lazy': { on: 'rnn', options: { probeTrials: 6, kernelTrials: 2 }, refusedOn: 'mlp' },
  dynamics: { on: 'rnn', options: { points: 8, lyapunovSteps: 100 }, refusedOn: 'mlp' },
  'implicit-bias': { on: 'gln', options: {}, refusedOn: 'mlp' },
  margin: { on: 'gln', refusedOn: 'mlp' },
};
