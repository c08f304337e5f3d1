/**
 * Clark, Abbott, Chung 2021 (NeurIPS), "Credit assignment through broadcasting a
 * global error vector", MNIST rows of the main table: GEVB and BP on vectorized
 * nonnegative networks, DFA and BP on conventional networks of the same shape.
 * Test errors are the authors' (REFERENCES.md, from their table notebook: Adam
 * 3e-4, batch 128, up to 200 epochs, 5 seeds).
 */
import type { Experiment } from '../types.js';

const protocol = 'Adam 3e-4, batch 128, up to 200 epochs (stopped at 100% train accuracy), mean of 5 seeds (verified, authors’ table notebook)';
const common = ['--optimizer', 'adam', '--lr', '3e-4', '--batch-size', '128'];

export const clarkFcVnn: Experiment = {
  name: 'clark2021-fc-vnn',
  title: 'Clark et al. 2021, MNIST fully connected VNN 784·K-1024-512-1: GEVB and BP',
  source: 'Clark, Abbott, Chung 2021, NeurIPS, Table 1',
  rules: ['gevb', 'bp'],
  args: ['--dataset', 'mnist', '--model', 'vnn', '--hidden', '1024,512', ...common],
  publishedProtocol: protocol,
  published: { gevb: 1.87, bp: 1.93 },
  differences: ['far fewer epochs (see the measured table)', 'pixels in [0, 1] (the authors normalise to [−1, 1])'],
};

export const clarkFcConventional: Experiment = {
  name: 'clark2021-fc-conventional',
  title: 'Clark et al. 2021, MNIST fully connected conventional 784-1024-512-10: DFA and BP',
  source: 'Clark, Abbott, Chung 2021, NeurIPS, Table 1',
  rules: ['dfa', 'bp'],
  args: ['--dataset', 'mnist', '--model', 'mlp', '--hidden', '1024,512', '--init', 'kaiming', ...common],
  publishedProtocol: protocol,
  published: { dfa: 2.09, bp: 1.29 },
  differences: ['far fewer epochs', 'DFA feedback N(0, Xavier) rather than the authors’ Uniform[−1, 1]', 'pixels in [0, 1]'],
};

export const clarkConvVnn: Experiment = {
  name: 'clark2021-conv-vnn',
  title: 'Clark et al. 2021, MNIST conv VNN: GEVB and BP',
  source: 'Clark, Abbott, Chung 2021, NeurIPS, Table 1',
  rules: ['gevb', 'bp'],
  args: ['--dataset', 'mnist', '--model', 'vnn-conv', '--channels', '64,32', '--hidden', '1024', ...common],
  publishedProtocol: protocol,
  published: { gevb: 2.33, bp: 1.3 },
  differences: ['far fewer epochs', 'pixels in [0, 1]'],
};

export const clarkConvConventional: Experiment = {
  name: 'clark2021-conv-conventional',
  title: 'Clark et al. 2021, MNIST conv conventional (c64k3-a2-c32k3-a2-d1024): DFA and BP',
  source: 'Clark, Abbott, Chung 2021, NeurIPS, Table 1',
  rules: ['dfa', 'bp'],
  args: ['--dataset', 'mnist', '--model', 'convnet', '--arch', 'c64k3-a2-c32k3-a2-d1024', '--init', 'kaiming', ...common],
  publishedProtocol: protocol,
  published: { dfa: 1.64, bp: 0.65 },
  differences: ['far fewer epochs', 'DFA feedback N(0, Xavier), shared across positions (`--dfa-conv shared`)', 'pixels in [0, 1]'],
};
