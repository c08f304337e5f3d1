/**
 * The initialiser options every weighted model family offers (see src/init.ts).
 * The default is Xavier (Glorot) normal, as in biotorch's benchmarks: feedback
 * alignment and DFA train markedly more stably from it than from Kaiming init,
 * and backprop is unaffected (docs/architecture.md, "Defaults").
 */
import { INITS, type InitName } from '../src/init.js';
import { option, parse } from '../src/options.js';

export const initOptions = [
  option('init', '--init <name>', `weight initialiser: ${INITS.join(', ')}`, 'xavier' as InitName, parse.choice(INITS)),
  option('initScale', '--init-scale <s>', 'multiplies the initialiser std (for normal: the std itself)', 1, parse.positiveNumber),
];
