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
 *
 * `--form bump` is full-FORCE's version (DePasquale et al. 2018, the demos'
 * trial_ready_set_go.m): the output sits at −0.5 throughout and, from the
 * same go time, traces a 500 ms bump −0.5 + 1.5·B(s)/max B, B the beta(4, 4)
 * density over the window (peak 1.0), then returns to −0.5 for 100 ms; every
 * step counts. `--hint ramp` adds their hint channel for the teacher network:
 * a ramp rising linearly from the end of "ready" to the middle of "set", to
 * the delay d in seconds, and falling back to 0 at the go time. The demos use
 * d from 0.1 to 2.1 s (`--min-interval 150 --max-interval 2150`: onset to
 * onset) and two input channels; here ready and set share one, as above.
 *
 * Task measures (evaluation, `test.task` in metrics.jsonl): `intervalErrorMs`,
 * |t_peak(z) − t_peak(f)|, the first steps of the output's and the target's
 * maxima after the set onset (the target's: the go pulse's onset, the bump's
 * peak); `windowNmse`, the normalized error inside the response window
 * only (the long baseline makes the whole-trial error look small).
 */
import { UsageError } from '../../src/errors.js';
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask } from './task.js';

const PULSE_MS = 50;
const GO_MS = 100;
const AFTER_MS = 150;
const BUMP_MS = 500;
const BASELINE_AFTER_MS = 100;
const BASELINE = -0.5;

/** full-FORCE's response at s ∈ [0, 1] of its window: −0.5 + 1.5·B(s)/B(½), B(s) ∝ s³(1 − s)³ the beta(4, 4) density. */
const bumpAt = (s: number) => BASELINE + 1.5 * 64 * s ** 3 * (1 - s) ** 3;

function check(o: { minInterval: number; maxInterval: number; gainFactor: number; form: string; hint: string }): void {
  const [lo, hi, g] = [o.minInterval, o.maxInterval, o.gainFactor];
  if (o.hint !== 'none' && o.form !== 'bump') throw new UsageError(`ready-set-go: --hint ${o.hint} belongs to --form bump (full-FORCE's version)`);
  if (!(lo > PULSE_MS && lo <= hi)) throw new UsageError(`ready-set-go needs ${PULSE_MS} ms < --min-interval ≤ --max-interval (got ${lo} and ${hi})`);
  if (g * lo < PULSE_MS) throw new UsageError(`ready-set-go: --gain-factor ${g} × --min-interval ${lo} puts the go pulse inside the ${PULSE_MS} ms set pulse`);
}

export const readySetGo = defineTask({
  name: 'ready-set-go',
  description: 'reproduce the ready–set interval (×gain) with a go pulse after set (--form bump: full-FORCE’s response bump, with --hint ramp); normalized-error metric',
  reference: 'Jazayeri & Shadlen 2015, Curr Biol; neurogym ReadySetGo',
  inputs: ['ready-set'],
  outputs: ['go'],
  loss: 'mse',
  defaultDtMs: 10,
  options: [
    option('minInterval', '--min-interval <ms>', 'shortest ready–set interval', 400, parse.positiveNumber),
    option('maxInterval', '--max-interval <ms>', 'longest ready–set interval', 1000, parse.positiveNumber),
    option('gainFactor', '--gain-factor <g>', 'produce g × the interval', 1, parse.positiveNumber),
    option('form', '--form <form>', 'pulse (a 100 ms go pulse from 0) or bump (full-FORCE’s 500 ms bump on a −0.5 baseline)', 'pulse' as 'pulse' | 'bump', parse.choice(['pulse', 'bump'] as const)),
    option('hint', '--hint <hint>', 'with --form bump: ramp (full-FORCE’s hint channel for the teacher, rising over the delay and falling to the go time) or none', 'none' as 'ramp' | 'none', parse.choice(['ramp', 'none'] as const)),
  ],
  hints: (o) => (o.hint === 'ramp' ? ['ramp'] : []),
  metrics(output, trial, o, dt) {
    const setStart = trial.periods['set']![0];
    // The response window: where the target rises above its resting value.
    const rest = o.form === 'bump' ? BASELINE : 0;
    const window: number[] = [];
    for (let t = setStart; t < trial.steps; t++) if (trial.targets[t]! > rest) window.push(t);
    // The first step of a maximum after the set onset, of the output and of the target.
    const peakOf = (v: ArrayLike<number>) => {
      let p = setStart;
      for (let t = setStart; t < trial.steps; t++) if (v[t]! > v[p]!) p = t;
      return p;
    };
    const [peak, go] = [peakOf(output), peakOf(trial.targets)];
    let [err, norm] = [0, 0];
    for (const t of window) [err, norm] = [err + (output[t]! - trial.targets[t]!) ** 2, norm + trial.targets[t]! ** 2];
    return { intervalErrorMs: Math.abs(peak - go) * dt, windowNmse: err / norm };
  },
  maxSteps(o, dt) {
    check(o);
    const steps = (v: number) => Math.max(1, Math.round(v / dt));
    const hi = o.maxInterval;
    const [response, after] = o.form === 'bump' ? [BUMP_MS, BASELINE_AFTER_MS] : [GO_MS, AFTER_MS];
    // Rounding each period can lengthen the realised interval by up to a step.
    return steps(100) + steps(PULSE_MS) + steps(hi - PULSE_MS) + Math.ceil((o.gainFactor * (hi + dt) + response + after) / dt) + 1;
  },
  trial(rng, o, dt) {
    const [lo, hi] = [o.minInterval, o.maxInterval];
    const bump = o.form === 'bump';
    const b = new TrialBuilder(1, 1, dt, o.hint === 'ramp' ? 1 : 0);
    // The bump form's baseline holds, and counts, from the start.
    const rest = bump ? { targets: [BASELINE], mask: 1 } : {};
    b.period('fixation', 100, () => rest);
    b.period('ready', PULSE_MS, () => ({ inputs: [1], ...rest }));
    const measureSteps = Math.max(1, Math.round((lo + (hi - lo) * rng.uniform() - PULSE_MS) / dt));
    const [readyStart, readyEnd] = b.periods['ready']!;
    const interval = (readyEnd + measureSteps - readyStart) * dt;
    const setSteps = Math.max(1, Math.round(PULSE_MS / dt));
    const goStep = Math.round((o.gainFactor * interval) / dt); // steps after the set onset
    const goSteps = Math.max(1, Math.round((bump ? BUMP_MS : GO_MS) / dt));
    const total = goStep + goSteps + Math.max(1, Math.round((bump ? BASELINE_AFTER_MS : AFTER_MS) / dt));
    // The hint: up over measure and the first half of set, down from there to the go time, peak d in seconds.
    const peak = measureSteps + setSteps / 2;
    const delaySec = (measureSteps * dt) / 1000;
    const ramp = (k: number) => (o.hint !== 'ramp' ? {} : { hints: [delaySec * (k <= peak ? k / peak : Math.max(0, 1 - (k - peak) / (measureSteps + goStep - peak)))] });
    const target = (k: number) =>
      bump ? { targets: [k >= goStep && k < goStep + goSteps ? bumpAt((k - goStep) / Math.max(1, goSteps - 1)) : BASELINE], mask: 1 } : { targets: [k >= goStep && k < goStep + goSteps ? 1 : 0], mask: 1 };
    b.period('measure', measureSteps * dt, (k) => ({ ...rest, ...ramp(k) }));
    b.period('set', setSteps * dt, (k) => ({ inputs: [1], ...target(k), ...ramp(measureSteps + k) }));
    b.period('production', (total - setSteps) * dt, (k) => ({ ...target(setSteps + k), ...ramp(measureSteps + setSteps + k) }));
    return b.build();
  },
});
