/**
 * Ready-set-go interval reproduction (Jazayeri & Shadlen 2015; neurogym's
 * ReadySetGo): a "ready" pulse and a "set" pulse on one input channel are
 * separated by an interval I drawn uniformly from [--min-interval, --max-interval];
 * the output must stay at 0 after "set" and then emit a 100 ms pulse of height 1
 * at set + g·I (g = --gain-factor, 1 reproduces the interval). The loss counts the
 * whole production period. Periods: fixation 100 ms, ready 50 ms, measure I − 50 ms,
 * set 50 ms, production g·I + 250 ms (the pulse starts at g·I after set onset).
 * Metric: normalized error Σ m (z − f)² / Σ m f².
 */
import { option, parse } from '../../src/options.js';
import { TrialBuilder, type TaskDefinition } from './task.js';

const PULSE_MS = 50;
const GO_MS = 100;

const ms = (o: Record<string, unknown>, k: string) => o[k] as number;

export const readySetGo: TaskDefinition = {
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
    const I = ms(o, 'maxInterval');
    const steps = (v: number) => Math.max(1, Math.round(v / dt));
    return steps(100) + steps(PULSE_MS) + steps(I - PULSE_MS) + steps(PULSE_MS) + steps(ms(o, 'gainFactor') * I + GO_MS + 150);
  },
  trial(rng, o, dt) {
    const [lo, hi] = [ms(o, 'minInterval'), ms(o, 'maxInterval')];
    if (!(lo > PULSE_MS && lo <= hi)) throw new Error(`ready-set-go needs ${PULSE_MS} ms < --min-interval ≤ --max-interval (got ${lo}, ${hi})`);
    const I = lo + (hi - lo) * rng.uniform();
    const go = ms(o, 'gainFactor') * I;
    const b = new TrialBuilder(1, 1, dt);
    b.period('fixation', 100, () => ({}));
    b.period('ready', PULSE_MS, () => ({ inputs: [1] }));
    b.period('measure', I - PULSE_MS, () => ({}));
    b.period('set', PULSE_MS, () => ({ inputs: [1], mask: 1 }));
    b.period('production', go + GO_MS + 150 - PULSE_MS, (k) => {
      const t = PULSE_MS + k * dt; // ms since set onset
      return { targets: [t >= go && t < go + GO_MS ? 1 : 0], mask: 1 };
    });
    return b.build();
  },
};
