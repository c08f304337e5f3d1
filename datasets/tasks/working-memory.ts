/**
 * Working memory in its plainest form (a cue held over a delay; the
 * biophysical-network task of Hazelden et al. 2023, whose exact timing is not
 * public): one input channel carries a cue of +1 or −1 for --cue-ms after a
 * short fixation, then nothing for --delay-ms; the output must report the
 * cue's sign for --response-ms. Periods: fixation 50 ms, cue 50 ms, delay
 * 200 ms, response 100 ms by default, with (σ/√dt) ξ input noise throughout.
 * Metric: accuracy of the sign of the mean output over the response period.
 */
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask } from './task.js';

const FIXATION_MS = 50;

export const workingMemory = defineTask({
  name: 'working-memory',
  description: 'hold a ±1 cue over a delay, then report its sign',
  reference: 'Hazelden, Liu, Shlizerman, Shea-Brown 2023 (arXiv 2311.10869)',
  inputs: ['cue'],
  outputs: ['sign'],
  loss: 'mse-decision',
  defaultDtMs: 10,
  options: [
    option('cueMs', '--cue-ms <ms>', 'duration of the cue', 50, parse.positiveNumber),
    option('delayMs', '--delay-ms <ms>', 'delay between the cue and the response', 200, parse.nonNegativeNumber),
    option('responseMs', '--response-ms <ms>', 'duration of the response period', 100, parse.positiveNumber),
    option('cueNoise', '--cue-noise <σ>', 'input noise σ; the per-step std is σ/√dt (dt in ms)', 0.1, parse.nonNegativeNumber),
  ],
  maxSteps: (o, dt) => [FIXATION_MS, o.cueMs, o.delayMs, o.responseMs].reduce((n, ms) => n + (ms > 0 ? Math.max(1, Math.round(ms / dt)) : 0), 0),
  trial(rng, o, dt) {
    const sign = rng.uniform() < 0.5 ? -1 : 1;
    const sigma = o.cueNoise / Math.sqrt(dt);
    const noisy = (v: number) => () => ({ inputs: [v + sigma * rng.normal()] });
    const b = new TrialBuilder(1, 1, dt);
    b.period('fixation', FIXATION_MS, noisy(0));
    b.period('cue', o.cueMs, noisy(sign));
    if (o.delayMs > 0) b.period('delay', o.delayMs, noisy(0));
    b.period('response', o.responseMs, () => ({ ...noisy(0)(), targets: [sign], mask: 1 }));
    return b.build();
  },
});
