/**
 * Delayed match-to-sample (neurogym's DelayMatchSample; Miller, Erickson,
 * Desimone 1996): a sample direction θ (one of 8) is shown as (cos θ, sin θ),
 * then a delay, then a test direction equal to the sample with probability ½
 * (otherwise one of the other 7); the output must report match (+1) or
 * non-match (−1) after the test. Periods: fixation --fixation-ms (300; 0: none),
 * sample --sample-ms (500), delay --delay-ms (1000), test --test-ms (500),
 * decision --decision-ms (200); (σ/√dt) ξ input noise.
 * Metric: accuracy of the sign of the mean output over the decision period.
 */
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask, periodSteps } from './task.js';

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
    option('fixationMs', '--fixation-ms <ms>', 'fixation before the sample (0: none)', 300, parse.nonNegativeNumber),
    option('sampleMs', '--sample-ms <ms>', 'duration of the sample', 500, parse.positiveNumber),
    option('delayMs', '--delay-ms <ms>', 'delay between sample and test', 1000, parse.positiveNumber),
    option('testMs', '--test-ms <ms>', 'duration of the test stimulus', 500, parse.positiveNumber),
    option('decisionMs', '--decision-ms <ms>', 'duration of the decision period', 200, parse.positiveNumber),
    option('stimulusNoise', '--stimulus-noise <σ>', 'input noise σ during the stimuli; per-step std σ/√dt (dt in ms)', 0.1, parse.nonNegativeNumber),
  ],
  maxSteps: (o, dt) => periodSteps(dt, [o.sampleMs, o.delayMs, o.testMs, o.decisionMs], [o.fixationMs]),
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
    if (o.fixationMs > 0) b.period('fixation', o.fixationMs, () => ({}));
    b.period('sample', o.sampleMs, show(sample));
    b.period('delay', o.delayMs, () => ({}));
    b.period('test', o.testMs, show(test));
    b.period('decision', o.decisionMs, () => ({ targets: [match ? 1 : -1], mask: 1 }));
    return b.build();
  },
});
