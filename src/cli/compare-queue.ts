/**
 * `compare --queue`: the planned runs of a comparison as jobs on a Redis queue
 * (src/queue.ts), followed until every job has ended, and `--slurm`, which
 * submits batch workers for them.
 */
import { Job, type Queue } from 'bullmq';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite, atomicWriteJson } from '../checkpoint.js';
import type { PlannedRun } from '../compare.js';
import { BiocreditError, UsageError } from '../errors.js';
import { ATTEMPTS, BACKOFF_MS, jobIdOf, PASSWORD_ENV, runJobData, type QueueTarget, type RunJobProgress } from '../queue.js';
import { BIN } from './child-run.js';

/** The part of a job id that names its comparison: the compare directory's fingerprint and path. */
export function compareKey(fingerprintJson: string, dir: string): string {
  return createHash('sha256').update(`${fingerprintJson}\n${dir}`).digest('hex').slice(0, 12);
}

export interface Enqueued {
  added: number;
  /** Jobs that were queued already (by an earlier run of the command) and left as they are. */
  existing: number;
}

/**
 * One job per unfinished run, with a fixed id: a run already queued, running or
 * done is left alone; a job that failed while its run directory is not marked
 * failed (refused by a worker of another version, say) is queued again.
 */
export async function enqueueRuns(queue: Queue, plan: PlannedRun[], key: string, backend: string | undefined): Promise<Enqueued> {
  let added = 0;
  let existing = 0;
  for (const run of plan.filter((p) => p.state !== 'finished' && p.state !== 'failed')) {
    const label = `${run.group}-s${run.seed}`;
    const id = jobIdOf(key, label);
    const job = await queue.getJob(id);
    const state = job ? await job.getState() : null;
    if (state === 'failed') {
      await job!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      added++;
      continue;
    }
    // Finished on the queue, but its run directory is not: it was deleted to run again.
    if (state === 'completed') await job!.remove();
    else if (state) {
      existing++;
      continue;
    }
    await queue.add('run', runJobData(run.dir, label, key, backend), {
      jobId: id,
      attempts: ATTEMPTS,
      backoff: { type: 'exponential', delay: BACKOFF_MS },
      removeOnComplete: false,
      removeOnFail: false,
    });
    added++;
  }
  return { added, existing };
}

/** A run's state on the queue, as `compare` shows it. */
export interface QueuedRun {
  state: 'queued' | 'running' | 'finished' | 'failed' | 'missing';
  progress?: RunJobProgress;
  error?: string;
}

/** Where a run's job stands; a finished job's summary is written to its run directory when that lacks one (a producer on another filesystem). */
export async function queuedRun(queue: Queue, key: string, run: PlannedRun): Promise<QueuedRun> {
  const job = await Job.fromId(queue, jobIdOf(key, `${run.group}-s${run.seed}`));
  if (!job) return { state: 'missing', error: 'its job is no longer on the queue (removed?); run the command again to queue it' };
  const state = await job.getState();
  const progress = job.progress && typeof job.progress === 'object' ? (job.progress as unknown as RunJobProgress) : undefined;
  if (state === 'completed') {
    const summary = join(run.dir, 'summary.json');
    if (!existsSync(summary) && job.returnvalue && existsSync(run.dir)) atomicWriteJson(summary, job.returnvalue);
    return { state: 'finished', ...(progress ? { progress } : {}) };
  }
  if (state === 'failed') return { state: 'failed', error: job.failedReason, ...(progress ? { progress } : {}) };
  if (state === 'active') return { state: 'running', ...(progress ? { progress } : {}) };
  return { state: 'queued', ...(progress ? { progress } : {}) };
}

/** sbatch options as words: split on spaces outside quotes. */
export function splitOptions(raw: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | null = null;
  let any = false;
  for (const ch of raw) {
    if (quote) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (/\s/.test(ch)) {
      if (word || any) words.push(word);
      word = '';
      any = false;
    } else word += ch;
  }
  if (quote) throw new UsageError(`--slurm: unbalanced ${quote} in ${JSON.stringify(raw)}`);
  if (word || any) words.push(word);
  return words;
}

/**
 * Submits `workers` pilot workers as one Slurm job array (`sbatch --array`): each
 * runs `biocredit worker --exit-when-idle` on this queue. The script holds the URL
 * without a password; sbatch passes this environment on, with the password in
 * BIOCREDIT_REDIS_PASSWORD. Returns the Slurm job id.
 */
export function submitSlurm(dir: string, target: QueueTarget, options: string, workers: number): string {
  const logs = join(dir, 'slurm');
  mkdirSync(logs, { recursive: true });
  const script = join(dir, 'slurm-worker.sh');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  atomicWrite(
    script,
    [
      '#!/bin/bash',
      `#SBATCH --job-name=biocredit-worker`,
      `#SBATCH --output=${logs}/%A_%a.out`,
      '#SBATCH --cpus-per-task=1',
      '# One biocredit worker; it leaves when the queue has no waiting or running runs.',
      `exec ${q(process.execPath)} ${q(BIN)} worker --queue ${q(target.url)} --exit-when-idle`,
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  const args = ['--parsable', `--array=0-${workers - 1}`, ...splitOptions(options), script];
  const env = { ...process.env, ...(target.connection.password ? { [PASSWORD_ENV]: target.connection.password } : {}) };
  const r = spawnSync('sbatch', args, { encoding: 'utf8', env });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BiocreditError(`--slurm: ${missing ? 'sbatch is not on PATH (run compare on a Slurm login node)' : r.error.message}; the runs stay queued, start workers another way`);
  }
  if (r.status !== 0) throw new BiocreditError(`--slurm: sbatch failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}; the runs stay queued`);
  const id = r.stdout.trim().split(/[;\s]/)[0] ?? '';
  if (!/^\d+/.test(id)) throw new BiocreditError(`--slurm: sbatch printed no job id (${JSON.stringify(r.stdout.trim())}); the runs stay queued`);
  return id;
}
