/**
 * FORCE's four-sine target (Sussillo & Abbott 2009, Fig. 2D; their script's
 * `ft`): after a 50 ms start pulse, the output must produce
 *
 *   f(t) = [A sin(π f t) + A/2 sin(2π f t) + A/6 sin(3π f t) + A/3 sin(4π f t)] / 1.5
 *
 * with A = 1.3 and f = 1/60 per τ (1.667 Hz for τ = 10 ms: a period of 120τ),
 * for the whole trial. The paper trains for 1440τ and tests for 1440τ of
 * continuous time; here a trial is --duration-ms long (default 1440τ at
 * τ = 10 ms) and starts from rest, so the pulse sets the phase. The loss counts
 * every step. Metrics: normalized error and mean absolute error (the script's
 * test MAE ≈ 0.036).
 */
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask } from './task.js';

const PULSE_MS = 50;

export const sumOfSines = defineTask({
  name: 'sum-of-sines',
  description: 'after a start pulse, produce FORCE’s sum of four sines for the whole trial; normalized-error and MAE metrics',
  reference: 'Sussillo & Abbott 2009, Neuron (Fig. 2D)',
  inputs: ['start'],
  outputs: ['f'],
  loss: 'mse',
  defaultDtMs: 1,
  // Every trial is the same 14.4 s: one for the test, as the paper's test period.
  defaultTrials: { train: 10, test: 1 },
  options: [
    option('freqHz', '--freq-hz <f>', 'the base frequency f of the four sines (FORCE: 1/60 per τ, 1.667 Hz at τ = 10 ms)', 1000 / 600, parse.positiveNumber),
    option('amp', '--amp <A>', 'amplitude A', 1.3, parse.positiveNumber),
    option('durationMs', '--duration-ms <ms>', 'trial length (FORCE trains 1440τ, 14.4 s at τ = 10 ms)', 14400, parse.positiveNumber),
  ],
  maxSteps: (o, dt) => Math.max(1, Math.round(o.durationMs / dt)),
  trial(_rng, o, dt) {
    const [A, f] = [o.amp, o.freqHz];
    const target = (t: number) => (A * Math.sin(Math.PI * f * t) + (A / 2) * Math.sin(2 * Math.PI * f * t) + (A / 6) * Math.sin(3 * Math.PI * f * t) + (A / 3) * Math.sin(4 * Math.PI * f * t)) / 1.5;
    const b = new TrialBuilder(1, 1, dt);
    const pulse = b.steps(PULSE_MS);
    b.period('output', o.durationMs, (k) => ({ inputs: [k < pulse ? 1 : 0], targets: [target((k * dt) / 1000)], mask: 1 }));
    return b.build();
  },
});
