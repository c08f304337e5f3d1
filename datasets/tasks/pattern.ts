/**
 * Pattern generation: after a brief start pulse, produce a periodic target
 * f(t) = sin(2πt/P) (or, with --chirp, a sine whose frequency rises linearly
 * from 1/P to 3/P over the trial; with --harmonics, Murray's target
 * sin(2πt/P) + ½ sin(4πt/P) + ¼ sin(8πt/P)) for the whole trial; the loss counts every
 * step after the pulse. The RFLO paper's example (Murray 2019, eLife) is a
 * 100-step periodic target for a 50-unit network with τ = 10 steps: with
 * dt = 10 ms, --duration-ms 1000 --period-ms 1000 --harmonics give one period of
 * his target over 100 steps (he starts from a fixed state without input; here a
 * 50 ms start pulse precedes it).
 * Metric: normalized error Σ m (z − f)² / Σ m f².
 */
import { UsageError } from '../../src/errors.js';
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask } from './task.js';

export const pattern = defineTask({
  name: 'pattern',
  description: 'generate a sine (or with --chirp a rising chirp) after a start pulse; normalized-error metric',
  reference: 'Murray 2019, eLife (RFLO periodic target); DePasquale et al. 2018 (chirp)',
  inputs: ['start'],
  outputs: ['f'],
  loss: 'mse',
  defaultDtMs: 10,
  options: [
    option('durationMs', '--duration-ms <ms>', 'trial length after the start pulse', 1000, parse.positiveNumber),
    option('periodMs', '--period-ms <ms>', 'period P of the sine (the chirp goes from 1/P to 3/P)', 500, parse.positiveNumber),
    option('chirp', '--chirp', 'a chirp instead of a sine', false, parse.boolean),
    option('harmonics', '--harmonics', "Murray's target: sin(2πt/P) + ½ sin(4πt/P) + ¼ sin(8πt/P)", false, parse.boolean),
  ],
  maxSteps: (o, dt) => Math.max(1, Math.round(50 / dt)) + Math.max(1, Math.round(o.durationMs / dt)),
  trial(_rng, o, dt) {
    if (o.chirp && o.harmonics) throw new UsageError('pattern: give --chirp or --harmonics, not both');
    const b = new TrialBuilder(1, 1, dt);
    const P = o.periodMs;
    const D = o.durationMs;
    b.period('start', 50, () => ({ inputs: [1] }));
    b.period('output', D, (k) => {
      const t = k * dt;
      // Phase of a chirp whose frequency rises linearly from 1/P to 3/P over D.
      const phase = o.chirp ? 2 * Math.PI * (t / P + (t * t) / (P * D)) : (2 * Math.PI * t) / P;
      const f = o.harmonics ? Math.sin(phase) + 0.5 * Math.sin(2 * phase) + 0.25 * Math.sin(4 * phase) : Math.sin(phase);
      return { targets: [f], mask: 1 };
    });
    return b.build();
  },
});
