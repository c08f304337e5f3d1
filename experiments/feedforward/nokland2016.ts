/**
 * Nøkland 2016 (NeurIPS), "Direct feedback alignment provides learning in deep
 * neural networks", MNIST table: 784-800-800-10 networks with tanh or ReLU
 * hidden units, trained with backprop, feedback alignment and DFA. The test
 * errors are the reported ones (REFERENCES.md); the paper trained for hundreds
 * of epochs with SGD and no data augmentation.
 */
import type { Experiment } from '../types.js';

function nokland2016(activation: 'tanh' | 'relu', published: Record<string, number>): Experiment {
  return {
    name: `nokland2016-${activation}`,
    title: `Nøkland 2016, MNIST 2×800 ${activation === 'relu' ? 'ReLU' : 'tanh'}`,
    source: 'Nøkland 2016, NeurIPS, Table 1 (reported)',
    rules: ['bp', 'fa', 'dfa'],
    args: ['--dataset', 'mnist', '--model', 'mlp', '--hidden', '800,800', '--activation', activation, '--init', 'xavier'],
    publishedProtocol: 'SGD, long training (reported numbers, not re-verified)',
    published,
    differences: ['Adam (lr 1e-3, batch 64) instead of SGD', 'far fewer epochs (see the measured table)', 'Xavier-normal initialisation (`--init xavier`), Xavier-normal feedback matrices'],
  };
}

export const nokland2016Tanh = nokland2016('tanh', { bp: 1.6, fa: 1.64, dfa: 1.74 });
export const nokland2016Relu = nokland2016('relu', { bp: 1.48, fa: 1.74, dfa: 1.7 });
