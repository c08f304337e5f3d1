/**
 * Ready-set-go interval reproduction (Jazayeri & Shadlen 2015; neurogym's
 * ReadySetGo): a "ready" pulse and a "set" pulse (50 ms each) on one input
 * channel are separated by an interval I drawn uniformly from
 * [--min-interval, --max-interval] (onset to onset); the output must stay at 0
 * after "set" and then emit a 100 ms pulse of height 1 starting g·I after the set
 * onset (g = --gain-factor; 1 reproduces the interval). The loss counts the set
 * pulse and the whole production period, which ends 150 ms after the go pulse.
 * Timing is in whole steps: I is the realised onset-to-onset interval and the go
 * time is rounded to the nearest step. Periods: fixation 100 ms, ready, measure,
 * set, production. Metric: normalized error Σ m (z − f)² / Σ m f².
 */
import { UsageError } from '../../src/errors.js';
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask } from './task.js';

const PULSE_MS = 50;
const GO_MS = 100;
const AFTER_MS = 150;

function check(o: { minInterval: number; maxInterval: number; gainFactor: number }): void {
  const [lo, hi, g] = [o.minInterval, o.maxInterval, o.gainFactor];
  if (!(lo > PULSE_MS && lo <= hi)) throw new UsageError(`ready-set-go needs ${PULSE_MS} ms < --min-interval ≤ --max-interval (got ${lo} and ${hi})`);
  if (g * lo < PULSE_MS) throw new UsageError(`ready-set-go: --gain-factor ${g} × --min-interval ${lo} puts the go pulse inside the ${PULSE_MS} ms set pulse`);
}

export const readySetGo = defineTask({
  name: 'ready-set-go',
  description: 'reproduce the ready–set interval (×gain) with a go pulse after set; normalized-error metric',
  reference: 'Jazayeri & Shadlen 2015, Curr Biol; neurogym ReadySetGo',
  inputs: ['ready-set'],
  outputs: ['go'],
  loss: 'mse',
  defaultDtMs: 10,
  options: [
    option('minInterval', '--min-interval <ms>', 'shortest ready–set interval', 400, parse.positiveNumber),
    option('maxInterval', '--max-interval <ms>', 'longest ready–set interval', 1000, parse.positiveNumber),
    option('gainFactor', '--gain-factor <g>', 'produce g × the interval', 1, parse.positiveNumber),
  ],
  maxSteps(o, dt) {
    check(o);
    const steps = (v: number) => Math.max(1, Math.round(v / dt));
    const hi = o.maxInterval;
    // Rounding each period can lengthen the realised interval by up to a step.
    return steps(100) + steps(PULSE_MS) + steps(hi - PULSE_MS) + Math.ceil((o.gainFactor * (hi + dt) + GO_MS + AFTER_MS) / dt) + 1;
  },
  trial(rng, o, dt) {
    const [lo, hi] = [o.minInterval, o.maxInterval];
    const b = new TrialBuilder(1, 1, dt);
    b.period('fixation', 100, () => ({}));
    b.period('ready', PULSE_MS, () => ({ inputs: [1] }));
    b.period('measure', lo + (hi - lo) * rng.uniform() - PULSE_MS, () => ({}));
    const [readyStart, measureEnd] = [b.periods['ready']![0], b.periods['measure']![1]];
    const interval = (measureEnd - readyStart) * dt;
    const goStep = Math.round((o.gainFactor * interval) / dt); // steps after the set onset
    const goSteps = Math.max(1, Math.round(GO_MS / dt));
    const total = goStep + goSteps + Math.max(1, Math.round(AFTER_MS / dt));
    const setSteps = Math.max(1, Math.round(PULSE_MS / dt));
    const target = (k: number) => ({ targets: [k >= goStep && k < goStep + goSteps ? 1 : 0], mask: 1 });
    b.period('set', setSteps * dt, (k) => ({ inputs: [1], ...target(k) }));
    b.period('production', (total - setSteps) * dt, (k) => target(setSteps + k));
    return b.build();
  },
});
