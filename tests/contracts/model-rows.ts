/** The rows of the model contract table (tests/contracts/models.test.ts): one or more per registered model. */
import { resolveOptions } from '../../src/options.js';
import { datasets, tasks } from '../../src/registries.js';
import type { Dataset } from '../../src/types.js';
import { smallDigits, teacherDataset } from '../helpers.js';

const flat = async (): Promise<Dataset> => teacherDataset('models', 64, 6, 3);
const image = async (): Promise<Dataset> => smallDigits();
const task = async (): Promise<Dataset> => {
  const e = tasks.get('perceptual-decision');
  return e.load(resolveOptions('task', e.options ?? [], { trials: 8, testTrials: 4, dt: 50 }));
};

const rober = async (): Promise<Dataset> => {
  const e = datasets.get('rober');
  return e.load(resolveOptions('dataset rober', e.options ?? [], { observations: 6 }));
};

export interface ModelRow {
  label: string;
  options: Record<string, unknown>;
  data: () => Promise<Dataset>;
  /** Whether the model must evaluate populations vectorised (batched products) rather than member by member. */
  vectorised: boolean;
  /** Whether it provides a recurrent step. */
  recurrent?: boolean;
}

export const MODEL_ROWS: Record<string, ModelRow[]> = {
  mlp: [
    { label: 'relu', options: { hidden: [8, 6] }, data: flat, vectorised: true },
    { label: 'tanh, Dale', options: { hidden: [8, 6], activation: 'tanh', dale: 0.75 }, data: flat, vectorised: true },
  ],
  convnet: [{ label: 'small', options: { arch: 'c4k3-m2-d8' }, data: image, vectorised: false }],
  rnn: [
    { label: 'tanh', options: { units: 8, activation: 'tanh' }, data: task, vectorised: true, recurrent: true },
    { label: 'Dale, x0, output feedback', options: { units: 10, dale: 0.8, trainX0: true, outputFeedback: 1 }, data: task, vectorised: true, recurrent: true },
  ],
  vnn: [{ label: 'dense', options: { hidden: [8, 6] }, data: flat, vectorised: false }],
  'vnn-conv': [{ label: 'conv', options: { channels: [4], hidden: [8] }, data: image, vectorised: false }],
  gln: [{ label: 'one gated layer', options: { hidden: [6], gates: 2, threshold: 'random' }, data: flat, vectorised: false }],
  // A 1 ms substep keeps the 50 ms task steps short; the dynamics are tested in tests/models/morris-lecar.test.ts.
  'neural-ode': [{ label: 'rk4, 2 substeps', options: { substeps: 2 }, data: rober, vectorised: true }],
  'morris-lecar': [
    { label: 'exp-euler', options: { units: 6, stepMs: 1 }, data: task, vectorised: true, recurrent: true },
    { label: 'rk4, snlc, all excitatory', options: { units: 5, stepMs: 2.5, integrator: 'rk4', preset: 'snlc', excitatory: 1 }, data: task, vectorised: true, recurrent: true },
  ],
};
