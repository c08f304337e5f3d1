/**
 * Sweeps across machines: a comparison's runs as jobs on a Redis queue (BullMQ).
 * `compare --queue` writes every run directory, then enqueues one job per
 * unfinished run with a fixed id (its compare fingerprint and run name, so
 * enqueueing twice adds nothing); `biocredit worker` takes jobs and trains each
 * prepared run directory in a child process. BullMQ holds a lock per active job
 * that its worker renews; a worker that dies stops renewing, the job is found
 * stalled and handed to another worker, which resumes the run from its last
 * checkpoint.
 *
 * Credentials: a password comes from the URL (redis://:PASSWORD@host:port) or
 * from BIOCREDIT_REDIS_PASSWORD, and is never printed or written anywhere; the
 * URL biocredit shows and stores has none.
 */
import { Queue, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { BiocreditError, UsageError } from './errors.js';
import { VERSION } from './version.js';

/** The BullMQ queue every biocredit producer and worker use (one per Redis database). */
export const QUEUE_NAME = 'biocredit-runs';
export const PASSWORD_ENV = 'BIOCREDIT_REDIS_PASSWORD';

/** Job attempts for a run that fails in a way worth retrying (a crash, a lost child), with exponential backoff from 10 s. */
export const ATTEMPTS = 3;
export const BACKOFF_MS = 10_000;

export interface QueueTarget {
  /** host:port/db, without credentials: what biocredit prints and stores. */
  display: string;
  /** The URL to hand to another process, without the password (it travels in PASSWORD_ENV). */
  url: string;
  connection: { host: string; port: number; db: number; username?: string; password?: string; tls?: object };
}

/** redis://[user[:password]@]host[:port][/db] or rediss:// (TLS). */
export function parseQueueUrl(raw: string, flag = '--queue'): QueueTarget {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`${flag} must be a Redis URL like redis://HOST:PORT[/DB] (got ${JSON.stringify(redact(raw))})`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new UsageError(`${flag} must be a redis:// or rediss:// URL (got ${u.protocol}//…)`);
  }
  if (!u.hostname) throw new UsageError(`${flag} names no host (expected redis://HOST:PORT[/DB])`);
  const port = u.port ? Number(u.port) : 6379;
  const path = u.pathname.replace(/^\//, '');
  if (path && !/^\d+$/.test(path)) throw new UsageError(`${flag}: the path after the port is a database number, e.g. redis://${u.hostname}:${port}/1 (got /${path})`);
  const db = path ? Number(path) : 0;
  const password = u.password ? decodeURIComponent(u.password) : process.env[PASSWORD_ENV] || undefined;
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const display = `${u.protocol}//${u.host.includes(':') ? u.host : `${u.host}:${port}`}/${db}`;
  return {
    display,
    url: `${u.protocol}//${username ? `${encodeURIComponent(username)}@` : ''}${u.host.includes(':') ? u.host : `${u.host}:${port}`}/${db}`,
    connection: { host, port, db, ...(username ? { username } : {}), ...(password ? { password } : {}), ...(u.protocol === 'rediss:' ? { tls: {} } : {}) },
  };
}

/** A URL with any password replaced by ***, for messages about input that did not parse. */
export function redact(raw: string): string {
  return raw.replace(/(\/\/[^/@:]*:)[^@/]*@/, '$1***@');
}

/** A command line with the password of every Redis URL in it replaced by ***. */
export function redactCommand(argv: string[]): string[] {
  return argv.map((a) => (/rediss?:\/\//.test(a) ? redact(a) : a));
}

/** Connection settings for BullMQ: its blocking commands must wait as long as they need. */
export function connectionOf(target: QueueTarget): ConnectionOptions {
  return { ...target.connection, maxRetriesPerRequest: null };
}

/**
 * Checks that Redis answers at `target` and accepts the credentials, within a
 * few seconds, so a wrong host or password is one line and not a hang.
 */
export async function checkServer(target: QueueTarget): Promise<void> {
  const client = new Redis({ ...target.connection, lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // The first error says why (a refused password, a refused connection); the promise may only say the connection closed.
  let first: string | undefined;
  client.on('error', (e: Error) => (first ??= e.message));
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const message = first ?? (e as Error).message ?? String(e);
    if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) {
      throw new BiocreditError(`Redis at ${target.display} refused the credentials (wrong password or user); check the URL or ${PASSWORD_ENV}`);
    }
    if (/NOAUTH|Authentication required/i.test(message)) {
      throw new BiocreditError(`Redis at ${target.display} needs a password: give it as redis://:PASSWORD@HOST:PORT or in ${PASSWORD_ENV}`);
    }
    throw new BiocreditError(`cannot reach Redis at ${target.display} (${message.split('\n')[0]}); is redis-server running there and reachable from this machine?`);
  } finally {
    client.disconnect();
  }
}

/** What a job carries: everything a worker needs is in the run directory it names. */
export interface RunJobData {
  project: 'biocredit';
  /** The biocredit version that prepared the run; a worker of another version refuses it. */
  version: string;
  runDir: string;
  label: string;
  /** The compare fingerprint hash the job id starts with. */
  compare: string;
  backend?: string;
}

/** What a worker reports on a running job (BullMQ's job progress). */
export interface RunJobProgress {
  /** host:pid of the worker. */
  worker: string;
  step: number;
  totalSteps: number;
  stepsPerEpoch: number;
  epoch: number;
  etaSec?: number;
  testAccuracy?: number;
  testNmse?: number;
  /** The step a resumed run continued from. */
  resumedFrom?: number;
}

/** A run's job id: its comparison's fingerprint hash and its run name (ids may not contain ':'). */
export function jobIdOf(compareHash: string, label: string): string {
  return `${compareHash}.${label}`;
}

export function runJobData(runDir: string, label: string, compareHash: string, backend?: string): RunJobData {
  return { project: 'biocredit', version: VERSION, runDir, label, compare: compareHash, ...(backend ? { backend } : {}) };
}

/** Why a job's data is not a biocredit run this process can take, or null. */
export function foreignJob(job: Pick<Job, 'id' | 'data'>): string | null {
  const d = job.data as Partial<RunJobData> | undefined;
  if (!d || d.project !== 'biocredit' || typeof d.runDir !== 'string') return `job ${job.id} is not a biocredit run`;
  return null;
}

/** Opens the queue after checking the server, refusing one that holds another project's jobs. */
export async function openQueue(target: QueueTarget): Promise<Queue> {
  await checkServer(target);
  const queue = new Queue(QUEUE_NAME, { connection: connectionOf(target) });
  queue.on('error', () => {});
  try {
    const sample = await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'], 0, 20);
    for (const job of sample) {
      const why = job && foreignJob(job);
      if (why) {
        throw new BiocreditError(
          `the queue ${QUEUE_NAME} at ${target.display} holds jobs of another project (${why}); use another Redis database, e.g. ${target.display.replace(/\/\d+$/, '/1')}`,
        );
      }
    }
  } catch (e) {
    await queue.close();
    throw e;
  }
  return queue;
}
