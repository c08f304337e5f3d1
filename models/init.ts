/**
 * The initialiser options every weighted model family offers (see src/init.ts).
 * The default is `torch`, uniform on ±1/sqrt(fanIn), the default of Torch7's and
 * PyTorch's layers and so of the reference implementations: feedback alignment
 * and DFA train markedly better from it than from Xavier or Kaiming normal init,
 * and backprop is barely affected (docs/architecture.md, "Defaults").
 */
import { INITS, type InitName } from '../src/init.js';
import { option, parse } from '../src/options.js';

export const initOptions = [
  option('init', '--init <name>', `weight initialiser: ${INITS.join(', ')}`, 'torch' as InitName, parse.choice(INITS)),
  option('initScale', '--init-scale <s>', 'multiplies the initialiser std (for normal: the std itself)', 1, parse.positiveNumber),
  option('initRank', '--init-rank <r>', 'start every dense weight matrix at its best rank-r approximation, rescaled to the full draw\'s Frobenius norm (Liu et al. 2023; 0: full rank)', 0, parse.nonNegativeInt),
];
