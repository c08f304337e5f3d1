/**
 * `biocredit worker --queue URL`: takes runs that `compare --queue` enqueued and
 * trains each prepared run directory in a child process (a run in this process
 * would starve BullMQ's lock renewal), resuming from its checkpoint when it has
 * one. SIGTERM or SIGINT (a batch scheduler's preemption or time limit): the
 * children checkpoint and their jobs go back to the queue without using up an
 * attempt. A worker that dies stops renewing its jobs' locks; another worker
 * finds them stalled and resumes them.
 */
import chalk from 'chalk';
import { Command } from 'commander';
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { atomicWriteJson } from '../checkpoint.js';
import { readJson } from '../compare.js';
import { LOCK_FILE, processAlive } from '../lock.js';
import { parse, parseFlag } from '../options.js';
import { checkServer, connectionOf, foreignJob, parseQueueUrl, QUEUE_NAME, type RunJobData, type RunJobProgress } from '../queue.js';
import { VERSION } from '../version.js';
import { duration } from './format.js';
import { assertBuilt, trainChild } from './child-run.js';

/** How long a job's lock lasts without renewal (renewed every half of it): a dead worker's runs move on after about this long. */
const LOCK_MS_ENV = 'BIOCREDIT_QUEUE_LOCK_MS';
const DEFAULT_LOCK_MS = 30_000;
/** How often an idle worker with --exit-when-idle looks for work before it leaves. */
const IDLE_POLL_MS = 2000;

/**
 * Waits for the run directory's lock to be free. A stalled job's previous run may
 * still be saving its checkpoint here (its worker died, the child is stopping);
 * a lock held on another machine by a job the queue found stalled is taken over,
 * because the queue's lock has passed to this worker, so that owner is gone.
 */
async function awaitRunLock(runDir: string, job: Job, patienceMs: number): Promise<void> {
  const path = join(runDir, LOCK_FILE);
  for (const until = Date.now() + patienceMs; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
    const owner = readJson<{ host?: string; pid?: number }>(path);
    if (!owner) return;
    if (owner.host !== hostname()) {
      if (job.attemptsStarted > 1) rmSync(path, { force: true });
      return;
    }
    if (owner.pid === undefined || !processAlive(owner.pid)) return;
  }
}

export function workerCommand(): Command {
  const cmd = new Command('worker')
    .description('train runs queued by `biocredit compare --queue` (each in a child process), until stopped or, with --exit-when-idle, until the queue is empty')
    .requiredOption('--queue <url>', 'the Redis queue: redis://[:PASSWORD@]HOST:PORT[/DB] (or the password in BIOCREDIT_REDIS_PASSWORD)')
    .option('--concurrency <n>', 'runs trained at once (one core each)', '1')
    .option('--exit-when-idle', 'exit when no run is waiting or running anywhere (for batch jobs, e.g. Slurm)')
    .option('--quiet', 'no log lines')
    .addHelpText(
      'after',
      `
Examples:
  $ biocredit worker --queue redis://127.0.0.1:6379
  $ BIOCREDIT_REDIS_PASSWORD=… biocredit worker --queue redis://queue-host:6379/0 --concurrency 2 --exit-when-idle

Run directories are read and written at the paths compare gave them: every worker
needs the compare directory at the same path (a shared filesystem). SIGTERM or
Ctrl-C checkpoints the running runs and hands them back to the queue.`,
    );
  cmd.action(async (raw: Record<string, unknown>) => {
    const target = parseQueueUrl(String(raw['queue']));
    const concurrency = parseFlag('--concurrency', String(raw['concurrency']), parse.positiveInt);
    const lockMs = process.env[LOCK_MS_ENV] ? parseFlag(LOCK_MS_ENV, process.env[LOCK_MS_ENV], parse.positiveInt) : DEFAULT_LOCK_MS;
    const quiet = Boolean(raw['quiet']);
    assertBuilt();
    await checkServer(target);
    const name = `${hostname()}:${process.pid}`;
    const log = (text: string) => quiet || process.stderr.write(`${chalk.dim(new Date().toISOString().slice(11, 19))} ${name} ${text}\n`);
    const children = new Set<ChildProcess>();
    // Jobs whose run this worker started, so a final failure is recorded in the run's summary.
    const ran = new Set<string>();
    let stopping = false;

    const processor = async (job: Job, token?: string) => {
      const foreign = foreignJob(job);
      if (foreign) throw new UnrecoverableError(foreign);
      const data = job.data as RunJobData;
      if (data.version !== VERSION) {
        throw new UnrecoverableError(`${data.label} was prepared by biocredit ${data.version}; this worker runs ${VERSION} (start workers of the same version)`);
      }
      if (!existsSync(join(data.runDir, 'config.json'))) {
        throw new UnrecoverableError(`run directory ${data.runDir} is not visible on ${hostname()}: every worker needs the compare directory at the same path (a shared filesystem)`);
      }
      await awaitRunLock(data.runDir, job, 2 * lockMs);
      ran.add(job.id!);
      const started = Date.now();
      let last = 0;
      const progress: RunJobProgress = { worker: name, step: 0, totalSteps: 0, epoch: 0, stepsPerEpoch: 1 };
      const { exit } = trainChild(
        data.runDir,
        data.backend,
        (m) => {
          if (m.type === 'start') {
            Object.assign(progress, { totalSteps: m.totalSteps, stepsPerEpoch: m.stepsPerEpoch, step: m.startStep });
            if (m.resumed) progress.resumedFrom = m.startStep;
            log(`${data.label}: ${m.resumed ? `resumed from step ${m.startStep}` : 'started'} (attempt ${job.attemptsMade + 1})`);
          } else if (m.type === 'progress') {
            Object.assign(progress, { step: m.step, epoch: m.epoch, etaSec: m.etaSec });
          } else {
            progress.epoch = m.record.epoch;
            progress.testAccuracy = m.record.test.accuracy;
            if (m.record.test.nmse !== undefined) progress.testNmse = m.record.test.nmse;
          }
          // The queue is told at most once a second (and at every evaluation).
          if (m.type !== 'progress' || Date.now() - last > 1000) {
            last = Date.now();
            job.updateProgress({ ...progress }).catch(() => {});
          }
        },
        children,
      );
      const { code, error } = await exit;
      if (code === 0) {
        log(`${data.label}: finished in ${duration((Date.now() - started) / 1000)}`);
        return readJson(join(data.runDir, 'summary.json'));
      }
      if (code === 130 && stopping) {
        // Checkpointed on our stop: back to the queue as it was, without using up an attempt.
        ran.delete(job.id!);
        await job.moveToWait(token);
        log(`${data.label}: checkpointed at step ${progress.step} and handed back to the queue`);
        throw new WaitingError();
      }
      // Exit codes 1 and 2 are the run's own errors (bad data or settings, a non-finite loss): trying again gives the same.
      if (code === 1 || code === 2) throw new UnrecoverableError(error ?? `exit code ${code}`);
      throw new Error(error ?? `the training process ended with code ${code}`);
    };

    const worker = new Worker(QUEUE_NAME, processor, {
      connection: connectionOf(target),
      concurrency,
      name,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      // A run whose worker died is resumed elsewhere, however often that happens (a retry budget is for failures).
      maxStalledCount: 1000,
      autorun: false,
    });
    let lastError = '';
    worker.on('error', (e) => {
      // ioredis reconnects by itself; say so once per distinct error rather than on every retry.
      if (e.message !== lastError) log(chalk.yellow(`queue connection: ${e.message}`));
      lastError = e.message;
    });
    worker.on('failed', (job, err) => {
      if (!job || err instanceof WaitingError || err.name === 'WaitingError') return;
      const data = job.data as RunJobData;
      const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      log(`${data?.label ?? job.id}: ${chalk.red('failed')}${final ? '' : ` (attempt ${job.attemptsMade} of ${job.opts.attempts}, retried)`}: ${err.message}`);
      if (final && ran.has(job.id!)) {
        const summary = join(data.runDir, 'summary.json');
        if (readJson<{ status?: string }>(summary)?.status !== 'failed') atomicWriteJson(summary, { status: 'failed', error: err.message, runDir: data.runDir });
      }
      ran.delete(job.id!);
    });

    log(`taking runs from ${target.display} (${concurrency} at a time, biocredit ${VERSION})`);
    let stop = () => {};
    const done = new Promise<void>((resolveDone) => {
      stop = () => {
        if (stopping) {
          for (const c of children) c.kill('SIGKILL');
          process.exit(130);
        }
        stopping = true;
        log('stopping: running runs checkpoint and go back to the queue (again to kill them)');
        const closing = worker.close();
        for (const c of children) c.send({ type: 'stop' });
        void closing.then(() => resolveDone());
      };
      process.on('SIGINT', stop).on('SIGTERM', stop);
      if (raw['exitWhenIdle']) {
        const queue = new Queue(QUEUE_NAME, { connection: connectionOf(target) });
        queue.on('error', () => {});
        let idleTicks = 0;
        const poll = async () => {
          if (stopping) return void (await queue.close());
          try {
            const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
            const pending = Object.values(counts).reduce((a, b) => a + b, 0);
            // Twice in a row, so a job between states is not missed; a dead worker's job counts as active until it is recovered.
            idleTicks = pending === 0 && children.size === 0 ? idleTicks + 1 : 0;
          } catch {
            idleTicks = 0;
          }
          if (idleTicks >= 2) {
            log('the queue is empty: exiting');
            stopping = true;
            await queue.close();
            await worker.close();
            resolveDone();
          } else setTimeout(() => void poll(), IDLE_POLL_MS);
        };
        void poll();
      }
    });
    void worker.run();
    await done;
    process.removeListener('SIGINT', stop).removeListener('SIGTERM', stop);
  });
  return cmd;
}
