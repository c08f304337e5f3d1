/**
 * Delayed match-to-sample (neurogym's DelayMatchSample; Miller, Erickson,
 * Desimone 1996): a sample direction θ (one of 8) is shown as (cos θ, sin θ),
 * then a delay, then a test direction equal to the sample with probability ½
 * (otherwise one of the other 7); the output must report match (+1) or
 * non-match (−1) after the test. Periods: fixation 300 ms, sample 500 ms, delay
 * --delay-ms (default 1000), test 500 ms, decision 200 ms; (σ/√dt) ξ input noise.
 * Metric: accuracy of the sign of the mean output over the decision period.
 */
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask } from './task.js';

const DIRECTIONS = 8;

export const matchToSample = defineTask({
  name: 'match-to-sample',
  description: 'hold a sample direction over a delay; report whether the test direction matches (+1) or not (−1)',
  reference: 'Miller, Erickson, Desimone 1996, J Neurosci; neurogym DelayMatchSample',
  inputs: ['cos', 'sin'],
  outputs: ['match'],
  loss: 'mse-decision',
  defaultDtMs: 20,
  options: [
    option('delayMs', '--delay-ms <ms>', 'delay between sample and test', 1000, parse.positiveNumber),
    option('stimulusNoise', '--stimulus-noise <σ>', 'input noise σ during the stimuli; per-step std σ/√dt (dt in ms)', 0.1, parse.nonNegativeNumber),
  ],
  maxSteps: (o, dt) => [300, 500, o.delayMs, 500, 200].reduce((n, v) => n + Math.max(1, Math.round(v / dt)), 0),
  trial(rng, o, dt) {
    const sample = rng.int(DIRECTIONS);
    const match = rng.uniform() < 0.5;
    const test = match ? sample : (sample + 1 + rng.int(DIRECTIONS - 1)) % DIRECTIONS;
    const sigma = o.stimulusNoise / Math.sqrt(dt);
    const show = (d: number) => () => {
      const th = (2 * Math.PI * d) / DIRECTIONS;
      return { inputs: [Math.cos(th) + sigma * rng.normal(), Math.sin(th) + sigma * rng.normal()] };
    };
    const b = new TrialBuilder(2, 1, dt);
    b.period('fixation', 300, () => ({}));
    b.period('sample', 500, show(sample));
    b.period('delay', o.delayMs, () => ({}));
    b.period('test', 500, show(test));
    b.period('decision', 200, () => ({ targets: [match ? 1 : -1], mask: 1 }));
    return b.build();
  },
});
