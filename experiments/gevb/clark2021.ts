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

/** One cell pair of the paper's table: the same protocol, source and data for all four. */
function clark(name: string, title: string, rules: string[], args: string[], published: Record<string, number>, differences: string[]): Experiment {
  return {
    name,
    title: `Clark et al. 2021, MNIST ${title}`,
    source: 'Clark, Abbott, Chung 2021, NeurIPS, Table 1',
    rules,
    args: ['--dataset', 'mnist', ...args, ...common],
    publishedProtocol: protocol,
    published,
    differences: [...differences, 'pixels in [0, 1] (the authors normalise to [−1, 1])'],
  };
}

const dfaFeedback = 'DFA feedback N(0, Xavier) rather than the authors’ Uniform[−1, 1]';

export const clarkFcVnn = clark('clark2021-fc-vnn', 'fully connected VNN 784·K-1024-512-1: GEVB and BP', ['gevb', 'bp'], ['--model', 'vnn', '--hidden', '1024,512'], { gevb: 1.87, bp: 1.93 }, [
  'far fewer epochs (see the measured table)',
]);

export const clarkFcConventional = clark(
  'clark2021-fc-conventional',
  'fully connected conventional 784-1024-512-10: DFA and BP',
  ['dfa', 'bp'],
  ['--model', 'mlp', '--hidden', '1024,512', '--init', 'kaiming'],
  { dfa: 2.09, bp: 1.29 },
  ['far fewer epochs', dfaFeedback],
);

export const clarkConvVnn = clark('clark2021-conv-vnn', 'conv VNN: GEVB and BP', ['gevb', 'bp'], ['--model', 'vnn-conv', '--channels', '64,32', '--hidden', '1024'], { gevb: 2.33, bp: 1.3 }, [
  'far fewer epochs',
]);

export const clarkConvConventional = clark(
  'clark2021-conv-conventional',
  'conv conventional (c64k3-a2-c32k3-a2-d1024): DFA and BP',
  ['dfa', 'bp'],
  ['--model', 'convnet', '--arch', 'c64k3-a2-c32k3-a2-d1024', '--init', 'kaiming'],
  { dfa: 1.64, bp: 0.65 },
  ['far fewer epochs', `${dfaFeedback}, shared across positions (\`--dfa-conv shared\`)`],
);
