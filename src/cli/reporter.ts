/**
 * Progress on stderr: a live bar with ETA on a terminal, a plain line every
 * `plainIntervalSec` seconds otherwise (logs, CI, pipes). Evaluations are
 * always printed as one line each. Lines fit the terminal's width (or COLUMNS)
 * by dropping their least important fields; a log without COLUMNS keeps them all.
 */
import { chalkStderr as chalk } from 'chalk';
import cliProgress from 'cli-progress';
import { parse, parseFlag } from '../options.js';
import type { EvalRecord, Progress, Reporter, StartInfo } from '../trainer.js';
import { barLine, duration, fitFields, int, num, pct, terminalWidth, type Field } from './format.js';

export interface ReporterOptions {
  quiet: boolean;
  tty: boolean;
  plainIntervalSec?: number;
}

const PROGRESS_ENV = 'BIOCREDIT_PROGRESS_SEC';

/** Seconds between plain progress lines when stderr is not a terminal: BIOCREDIT_PROGRESS_SEC, else 10. */
export function progressIntervalSec(): number {
  const raw = process.env[PROGRESS_ENV];
  return raw === undefined || raw.trim() === '' ? 10 : parseFlag(PROGRESS_ENV, raw, parse.positiveNumber);
}

/** Accuracy, or the normalized error of a regression task (none for its running train window, which has only the loss). */
function metric(e: { accuracy: number; nmse?: number }, regression: boolean): string {
  if (e.nmse !== undefined) return ` nmse ${num(e.nmse)}`;
  return regression ? '' : ` acc ${pct(e.accuracy)}`;
}

/** Examples per second, or seconds per example when a step takes longer than a second (online rules, one trial a step). */
function speed(v: number): string {
  if (!Number.isFinite(v) || v <= 0) return '— ex/s';
  return v >= 1 ? `${int(v)} ex/s` : `${num(1 / v, 3)} s/ex`;
}

/**
 * One evaluation: the test metric right after the epoch and step, then val,
 * train and speed, which a narrow terminal drops first.
 */
export function evalLine(r: EvalRecord, epochs: number, width?: number): string {
  const regression = r.test.nmse !== undefined;
  const fields: Field[] = [
    { text: `epoch ${num(r.epoch, 2)}/${num(epochs, 2)}`, rank: 1 },
    { text: `step ${r.step}`, rank: 2 },
    { text: chalk.bold(`test loss ${num(r.test.loss)}${metric(r.test, regression)}`), rank: 0 },
  ];
  if (r.val) fields.push({ text: `val loss ${num(r.val.loss)}${metric(r.val, regression)}`, rank: 3 });
  fields.push(
    { text: `train loss ${num(r.train.loss)}${metric(r.train, regression)}`, rank: 4 },
    // No training step has been timed yet at step 0.
    { text: speed(r.examplesPerSec), rank: 5 },
    { text: duration(r.wallSec), rank: 6 },
  );
  return fitFields(fields, width);
}

/** The fields of a progress line: step/total and ETA are kept first. */
function progressFields(p: Progress): Field[] {
  return [
    { text: `step ${p.step}/${p.totalSteps}`, rank: 0 },
    { text: `epoch ${num(p.epoch, 2)}/${num(p.epochs, 2)}`, rank: 4 },
    { text: `loss ${num(p.loss)}`, rank: 2 },
    // Regression tasks have no accuracy.
    ...(Number.isFinite(p.accuracy) ? [{ text: `acc ${pct(p.accuracy)}`, rank: 3 }] : []),
    { text: speed(p.examplesPerSec), rank: 5 },
    { text: `ETA ${duration(p.etaSec)}`, rank: 1 },
  ];
}

/** The plain progress line of a log. */
function progressLine(p: Progress, width?: number): string {
  return fitFields(progressFields(p), width);
}

/** The terminal's progress bar line, `width` columns at most (the last column is left free). */
function progressBarLine(p: Progress, width: number, bar: (size: number) => string): string {
  return barLine(width - 1, '', p.totalSteps > 0 ? p.step / p.totalSteps : 0, progressFields(p), bar, { essential: 2 });
}

export function createCliReporter(opts: ReporterOptions): Reporter & { stop(): void } {
  const interval = (opts.plainIntervalSec ?? progressIntervalSec()) * 1000;
  if (opts.quiet) return { stop() {} };
  const width = () => terminalWidth(process.stderr);
  let epochs = 0;
  let multi: cliProgress.MultiBar | null = null;
  let bar: cliProgress.SingleBar | null = null;
  let lastPlain = 0;
  const say = (line: string) => {
    if (multi) multi.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  };
  return {
    start(info: StartInfo) {
      epochs = info.totalSteps / info.stepsPerEpoch;
      const c = info.config;
      say(
        `${chalk.bold('biocredit')} ${info.resumed ? 'resuming' : 'training'} ${chalk.cyan(c.rule.name)} on ${chalk.cyan(c.model.name)} ` +
          `(${int(info.params)} params) with ${chalk.cyan(c.dataset.name)}, ${c.optimizer ? `${c.optimizer.name} lr ${c.optimizer.lr}` : 'no optimizer (the rule applies its own updates)'}, ` +
          `seed ${c.seed}, backend ${chalk.yellow(c.backend)}`,
      );
      say(`run dir ${info.runDir}${info.resumed ? ` (from step ${info.startStep})` : ''}`);
      if (opts.tty) {
        multi = new cliProgress.MultiBar(
          {
            stream: process.stderr,
            format: (options, params, payload: { progress?: Progress }) => {
              const p = payload.progress ?? { step: params.value, totalSteps: params.total, epoch: NaN, epochs, loss: NaN, accuracy: NaN, examplesPerSec: NaN, etaSec: NaN };
              return progressBarLine(p, width() ?? params.maxWidth, (size) => cliProgress.Format.BarFormat(params.progress, { ...options, barsize: size }));
            },
            barsize: 24,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar = multi.create(info.totalSteps, info.startStep, {});
      }
    },
    progress(p: Progress) {
      if (bar) {
        bar.update(p.step, { progress: p });
        return;
      }
      const now = Date.now();
      if (now - lastPlain >= interval || p.step === p.totalSteps) {
        lastPlain = now;
        say(progressLine(p, width()));
      }
    },
    eval(r: EvalRecord) {
      say(evalLine(r, epochs, width()));
    },
    stop() {
      multi?.stop();
      multi = null;
      bar = null;
    },
  };
}
