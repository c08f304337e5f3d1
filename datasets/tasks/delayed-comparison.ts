/**
 * Delayed comparison of two vibrotactile frequencies (Romo et al. 1999;
 * neurogym's DelayComparison): f1 is shown as a scalar input for 500 ms, then a
 * delay, then f2 for 500 ms; the output must report f1 > f2 (+1) or f1 < f2 (−1).
 * Frequency pairs are neurogym's (18, 10), (22, 14), (26, 18), (30, 22), (34, 26) Hz,
 * in random order, so f2 alone rarely gives the answer (only at 10 or 34 Hz); the
 * input is f/34 plus (σ/√dt) ξ noise during the stimuli. Periods: fixation 100 ms,
 * f1 500 ms, delay --delay-ms (default 1000), f2 500 ms, decision 200 ms.
 * Metric: accuracy of the sign of the mean output over the decision period.
 */
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask } from './task.js';

const PAIRS: [number, number][] = [
  [18, 10],
  [22, 14],
  [26, 18],
  [30, 22],
  [34, 26],
];
const FMAX = 34;

export const delayedComparison = defineTask({
  name: 'delayed-comparison',
  description: 'hold a frequency over a delay, compare it with a second one (f1 > f2: +1, else −1)',
  reference: 'Romo, Brody, Hernández, Lemus 1999, Nature; neurogym DelayComparison',
  inputs: ['frequency'],
  outputs: ['f1>f2'],
  loss: 'mse-decision',
  defaultDtMs: 20,
  options: [
    option('delayMs', '--delay-ms <ms>', 'delay between the two stimuli', 1000, parse.positiveNumber),
    option('stimulusNoise', '--stimulus-noise <σ>', 'input noise σ during the stimuli; per-step std σ/√dt (dt in ms)', 0.1, parse.nonNegativeNumber),
  ],
  maxSteps: (o, dt) => [100, 500, o.delayMs, 500, 200].reduce((n, v) => n + Math.max(1, Math.round(v / dt)), 0),
  trial(rng, o, dt) {
    const pair = PAIRS[rng.int(PAIRS.length)]!;
    const [f1, f2] = rng.uniform() < 0.5 ? pair : [pair[1], pair[0]];
    const sigma = o.stimulusNoise / Math.sqrt(dt);
    const b = new TrialBuilder(1, 1, dt);
    b.period('fixation', 100, () => ({}));
    b.period('f1', 500, () => ({ inputs: [f1 / FMAX + sigma * rng.normal()] }));
    b.period('delay', o.delayMs, () => ({}));
    b.period('f2', 500, () => ({ inputs: [f2 / FMAX + sigma * rng.normal()] }));
    b.period('decision', 200, () => ({ targets: [f1 > f2 ? 1 : -1], mask: 1 }));
    return b.build();
  },
});
