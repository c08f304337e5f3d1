/**
 * biotorch's benchmark table (Sanfiz & Akrout 2021, jsalbert/biotorch
 * Benchmarks.md), MNIST with LeNet-5: backprop, FA, DFA and the three
 * sign-symmetry variants. The test errors were read from the repository
 * (verified) and were selected on the test set after long training.
 */
import type { Experiment } from '../types.js';

export const biotorchLenet: Experiment = {
  name: 'biotorch-lenet',
  title: 'biotorch LeNet-5 on MNIST',
  source: 'jsalbert/biotorch Benchmarks.md (verified; best epoch, selected on the test set)',
  rules: ['bp', 'fa', 'dfa', 'usf', 'frsf', 'brsf'],
  args: ['--dataset', 'mnist', '--model', 'convnet', '--arch', 'c6k5-m2-c16k5v-m2-d120-d84'],
  publishedProtocol: 'long training; best test error over epochs',
  published: { bp: 0.91, fa: 1.7, dfa: 1.61, usf: 0.94, frsf: 0.97, brsf: 0.91 },
  differences: [
    'Adam lr 1e-3, batch 64, for far fewer epochs (see the measured table)',
    'measured numbers are the final epoch; the best epoch is given too',
    "DFA's conv feedback is one [K, C] projection per layer shared over positions (--dfa-conv shared)",
  ],
};
