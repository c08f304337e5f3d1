/**
 * Chirp generation, full-FORCE's oscillation task (DePasquale et al. 2018): a
 * 50 ms input pulse starts the trial, and the output must trace a chirp whose
 * frequency sweeps from f₀ to f₁ over the first half of the trial, then the
 * time-reversed negative of it over the second half:
 *
 *   f(t) = sin(2π φ(t)) for t ≤ D/2,  −sin(2π φ(D − t)) after,
 *   φ(t) = f₀ t + (f₁ − f₀) t² / D       (t in s, D the trial length),
 *
 * so the instantaneous frequency rises linearly f₀ → f₁ and falls back, with no
 * jump at D/2 (φ(D/2) = (f₀ + f₁) D/4 is a whole number for the sweeps used).
 * `--sweep 1-5` is the Python notebook's chirp (its normalized test error
 * 1.655e-5 with N = 300 after 100 training trials), `--sweep 1.5-4.5` the
 * MATLAB demo's. dt 1 ms, D = 2 s as in both. The loss counts every step.
 * Metric: normalized error Σ m (z − f)² / Σ m f².
 */
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask } from './task.js';

/** `f0-f1` in Hz, two positive numbers. */
function parseSweep(raw: string): string {
  const m = /^\s*([\d.]+)\s*-\s*([\d.]+)\s*$/.exec(raw);
  const [f0, f1] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(f0 > 0 && f1 > 0)) throw new Error('must be two positive frequencies in Hz, as 1-5');
  return raw.replace(/\s/g, '');
}

const PULSE_MS = 50;

export const chirp = defineTask({
  name: 'chirp',
  description: 'after a start pulse, trace a chirp sweeping f₀ → f₁ and back, negated (full-FORCE’s oscillation task); normalized-error metric',
  reference: 'DePasquale, Cueva, Rajan, Escola, Abbott 2018, PLoS ONE (full-FORCE demos)',
  inputs: ['start'],
  outputs: ['f'],
  loss: 'mse',
  defaultDtMs: 1,
  // Every trial is the same: the notebook trains on 100 and tests on 10.
  defaultTrials: { train: 100, test: 10 },
  options: [
    option('sweep', '--sweep <f0-f1>', 'frequencies in Hz the chirp sweeps over the first half (1-5: the Python demo; 1.5-4.5: the MATLAB demo)', '1-5', parseSweep),
    option('durationMs', '--duration-ms <ms>', 'trial length D (the sweep up takes D/2, its mirror the rest)', 2000, parse.positiveNumber),
  ],
  maxSteps: (o, dt) => Math.max(2, Math.round(o.durationMs / dt)),
  trial(_rng, o, dt) {
    const [f0, f1] = o.sweep.split('-').map(Number) as [number, number];
    const D = o.durationMs / 1000;
    const phase = (t: number) => f0 * t + ((f1 - f0) * t * t) / D;
    const target = (t: number) => (t <= D / 2 ? Math.sin(2 * Math.PI * phase(t)) : -Math.sin(2 * Math.PI * phase(D - t)));
    const b = new TrialBuilder(1, 1, dt);
    const pulse = b.steps(PULSE_MS);
    b.period('output', o.durationMs, (k) => ({ inputs: [k < pulse ? 1 : 0], targets: [target((k * dt) / 1000)], mask: 1 }));
    return b.build();
  },
});
