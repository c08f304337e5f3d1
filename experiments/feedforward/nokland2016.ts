/**
 * Nøkland 2016 (NeurIPS), "Direct feedback alignment provides learning in deep
 * neural networks", MNIST table: 784-800-800-10 networks with tanh or ReLU
 * hidden units, trained with backprop, feedback alignment and DFA. The test
 * errors are the reported ones (REFERENCES.md); the paper trained for hundreds
 * of epochs with SGD and no data augmentation.
 */
import type { Experiment } from '../types.js';

const shared = {
  rules: ['bp', 'fa', 'dfa'],
  publishedProtocol: 'SGD, long training (reported numbers, not re-verified)',
  differences: ['Adam (lr 1e-3, batch 64) instead of SGD', 'far fewer epochs (see the measured table)', 'Xavier-normal initialisation, Xavier-normal feedback matrices'],
};

export const nokland2016Tanh: Experiment = {
  ...shared,
  name: 'nokland2016-tanh',
  title: 'Nøkland 2016, MNIST 2×800 tanh',
  source: 'Nøkland 2016, NeurIPS, Table 1 (reported)',
  args: ['--dataset', 'mnist', '--model', 'mlp', '--hidden', '800,800', '--activation', 'tanh'],
  published: { bp: 1.6, fa: 1.64, dfa: 1.74 },
};

export const nokland2016Relu: Experiment = {
  ...shared,
  name: 'nokland2016-relu',
  title: 'Nøkland 2016, MNIST 2×800 ReLU',
  source: 'Nøkland 2016, NeurIPS, Table 1 (reported)',
  args: ['--dataset', 'mnist', '--model', 'mlp', '--hidden', '800,800', '--activation', 'relu'],
  published: { bp: 1.48, fa: 1.74, dfa: 1.7 },
};
