/**
 * Progress on stderr: a live bar with ETA on a terminal, a plain line every
 * `plainIntervalSec` seconds otherwise (logs, CI, pipes). Evaluations are
 * always printed as one line each.
 */
import { chalkStderr as chalk } from 'chalk';
import cliProgress from 'cli-progress';
import type { EvalRecord, Progress, Reporter, StartInfo } from '../trainer.js';
import { duration, int, num, pct } from './format.js';

export interface ReporterOptions {
  quiet: boolean;
  tty: boolean;
  plainIntervalSec?: number;
}

/** Accuracy, or the normalized error of a regression task. */
function metric(e: { accuracy: number; nmse?: number }): string {
  return e.nmse !== undefined ? `nmse ${num(e.nmse)}` : `acc ${pct(e.accuracy)}`;
}

export function evalLine(r: EvalRecord, epochs: number): string {
  const parts = [
    `epoch ${num(r.epoch, 2)}/${num(epochs, 2)}`,
    `step ${r.step}`,
    `train loss ${num(r.train.loss)} ${metric(r.train)}`,
  ];
  if (r.val) parts.push(`val loss ${num(r.val.loss)} ${metric(r.val)}`);
  parts.push(chalk.bold(`test loss ${num(r.test.loss)} ${metric(r.test)}`));
  // No training step has been timed yet at step 0.
  parts.push(Number.isFinite(r.examplesPerSec) ? `${int(r.examplesPerSec)} ex/s` : '— ex/s', duration(r.wallSec));
  return parts.join(' | ');
}

export function createCliReporter(opts: ReporterOptions): Reporter & { stop(): void } {
  if (opts.quiet) return { stop() {} };
  const interval = (opts.plainIntervalSec ?? 10) * 1000;
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
            format: ' {bar} {percentage}% | step {value}/{total} | epoch {epoch} | loss {loss} | acc {acc} | {speed} ex/s | ETA {eta_human}',
            barsize: 24,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar = multi.create(info.totalSteps, info.startStep, { epoch: '-', loss: '-', acc: '-', speed: '-', eta_human: '-' });
      }
    },
    progress(p: Progress) {
      const fields = {
        epoch: `${num(p.epoch, 2)}/${num(epochs, 2)}`,
        loss: num(p.loss),
        acc: pct(p.accuracy),
        speed: int(p.examplesPerSec),
        eta_human: duration(p.etaSec),
      };
      if (bar) {
        bar.update(p.step, fields);
        return;
      }
      const now = Date.now();
      if (now - lastPlain >= interval || p.step === p.totalSteps) {
        lastPlain = now;
        say(`step ${p.step}/${p.totalSteps} | epoch ${fields.epoch} | loss ${fields.loss} | acc ${fields.acc} | ${fields.speed} ex/s | ETA ${fields.eta_human}`);
      }
    },
    eval(r: EvalRecord) {
      say(evalLine(r, epochs));
    },
    stop() {
      multi?.stop();
      multi = null;
      bar = null;
    },
  };
}
