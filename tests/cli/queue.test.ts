/**
 * Sweeps on a Redis queue: `compare --queue` and `biocredit worker` against a
 * redis-server this file starts on 127.0.0.1 (a free port, no persistence) and
 * stops by pid. Skipped where redis-server is not installed, unless
 * BIOCREDIT_REQUIRE_REDIS=1 (`.ci/run` installs it and sets that).
 */
import { Job, Queue } from 'bullmq';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { oneLineError, runCli, spawnCli, tempDir } from '../helpers.js';

const hasRedis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
const requireRedis = process.env['BIOCREDIT_REQUIRE_REDIS'] === '1';

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined | null | false, timeoutMs = 120_000): Promise<T> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(100)) {
    const v = f();
    if (v) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A redis-server on a free port without persistence files; `stop` ends it by pid. */
async function startRedis(extra: string[] = []): Promise<{ port: number; url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = tempDir('biocredit-redis-');
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], { stdio: 'ignore' });
  await until('redis-server to answer', () => spawnSync('redis-cli', ['-p', String(port), ...(extra.includes('--requirepass') ? ['--no-auth-warning', '-a', extra[extra.indexOf('--requirepass') + 1]!] : []), 'ping'], { encoding: 'utf8' }).stdout.includes('PONG'), 10_000);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((done) => {
        if (proc.exitCode !== null) return done();
        proc.once('exit', () => done());
        process.kill(proc.pid!, 'SIGTERM');
      }),
  };
}

/** A CLI process in the background whose output is collected. */
function background(args: string[], env: Record<string, string> = {}) {
  const p = spawnCli(args, env);
  const out = { stdout: '', stderr: '', code: null as number | null, signal: null as NodeJS.Signals | null };
  p.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<typeof out>((done) =>
    p.on('exit', (code, signal) => {
      out.code = code;
      out.signal = signal;
      done(out);
    }),
  );
  return { proc: p as ChildProcess, out, exited };
}

const FAST_LOCK = { BIOCREDIT_QUEUE_LOCK_MS: '1500' };
const base = ['compare', '--dataset', 'mnist-mini', '--hidden', '16', '--steps', '300', '--eval-every', '100', '--checkpoint-every', '10', '--diag-every', '0', '--quiet'];
/** The step of a run's last checkpoint (0 before there is one). */
function checkpointStep(runDir: string): number {
  try {
    return (JSON.parse(readFileSync(join(runDir, 'checkpoint', 'state.json'), 'utf8')) as { step: number }).step;
  } catch {
    return 0;
  }
}
const finalMetrics = (dir: string, run: string) => JSON.parse(readFileSync(join(dir, run, 'summary.json'), 'utf8')).final;

describe.skipIf(!hasRedis && !requireRedis)('compare --queue and biocredit worker', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  beforeAll(async () => {
    if (!hasRedis) throw new Error('redis-server is not installed, and BIOCREDIT_REQUIRE_REDIS=1 requires these tests (apt-get install redis-server)');
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('runs 6 runs on 2 workers, one killed mid-run (SIGKILL): all finish, the killed run resumes from its checkpoint, the results equal a local compare', async () => {
    const dir = join(tempDir(), 'queued');
    const args = [...base, '--rules', 'bp,fa,dfa', '--seeds', '2'];
    const queued = runCli([...args, '--queue', redis.url, '--detach', '--out', dir]);
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toContain(`biocredit compare --attach ${dir} --queue ${redis.url}/0`);
    const a = background(['worker', '--queue', redis.url, '--exit-when-idle'], FAST_LOCK);
    const b = background(['worker', '--queue', redis.url, '--exit-when-idle'], FAST_LOCK);
    // Worker A's first run, once it has a checkpoint: kill A as a lost machine would go.
    const label = await until('worker A to start a run', () => /(\S+): started/.exec(a.out.stderr)?.[1]);
    await until('a checkpoint of that run past step 0', () => checkpointStep(join(dir, label)) > 0);
    a.proc.kill('SIGKILL');
    const attached = await background(['compare', '--attach', dir, '--queue', redis.url, '--json', '--quiet']).exited;
    expect(attached.code, attached.stderr).toBe(0);
    const done = await b.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(new RegExp(`${label}: resumed from step [1-9]\\d*`));
    const results = JSON.parse(attached.stdout);
    expect(results.runs).toHaveLength(6);
    expect(results.runs.every((r: { status: string }) => r.status === 'finished')).toBe(true);

    const local = join(tempDir(), 'local');
    const here = runCli([...args, '--jobs', '2', '--out', local]);
    expect(here.code, here.stderr).toBe(0);
    for (const run of readdirSync(local).filter((d) => /-s\d$/.test(d))) expect(finalMetrics(dir, run), run).toEqual(finalMetrics(local, run));

    // The same command again queues nothing and prints the same table.
    const again = runCli([...args.filter((x) => x !== '--quiet'), '--queue', redis.url, '--out', dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('6 finished, 0 failed before, 0 to resume, 0 new');
    expect(again.stderr).toContain('0 runs queued, 0 already on the queue');
  }, 300_000);

  it('SIGTERM checkpoints a running run and hands its job back without using an attempt; another worker resumes it', async () => {
    const dir = join(tempDir(), 'preempted');
    const args = [...base, '--rules', 'bp', '--steps', '600', '--out', dir];
    expect(runCli([...args, '--queue', redis.url, '--detach']).code).toBe(0);
    const w = background(['worker', '--queue', redis.url], FAST_LOCK);
    await until('a checkpoint past step 0', () => checkpointStep(join(dir, 'bp-s0')) > 0);
    w.proc.kill('SIGTERM');
    const stopped = await w.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toMatch(/bp-s0: checkpointed at step \d+ and handed back to the queue/);
    const queue = new Queue('biocredit-runs', { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      const jobs = await queue.getJobs(['waiting']);
      const job = jobs.find((j) => j.data.runDir === join(dir, 'bp-s0'));
      expect(job, 'the job is waiting again').toBeDefined();
      expect(job!.attemptsMade).toBe(0);
      const next = await background(['worker', '--queue', redis.url, '--exit-when-idle'], FAST_LOCK).exited;
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toMatch(/bp-s0: resumed from step [1-9]\d*/);
      expect(await (await Job.fromId(queue, job!.id!))!.getState()).toBe('completed');
    } finally {
      await queue.close();
    }
  }, 300_000);

  it('a worker refuses a job of another biocredit version or of another project, and compare refuses a queue holding foreign jobs', async () => {
    const queue = new Queue('biocredit-runs', { connection: { host: '127.0.0.1', port: redis.port, db: 6 } });
    try {
      const dir = join(tempDir(), 'other-version');
      expect(runCli([...base, '--rules', 'bp', '--queue', `${redis.url}/6`, '--detach', '--out', dir]).code).toBe(0);
      const [job] = await queue.getJobs(['waiting']);
      await job!.updateData({ ...job!.data, version: '0.0.0-other' });
      const w = await background(['worker', '--queue', `${redis.url}/6`, '--exit-when-idle'], FAST_LOCK).exited;
      expect(w.code, w.stderr).toBe(0);
      const failed = (await Job.fromId(queue, job!.id!))!;
      expect(await failed.getState()).toBe('failed');
      expect(failed.failedReason).toMatch(/bp-s0 was prepared by biocredit 0\.0\.0-other; this worker runs \d+\.\d+\.\d+/);
      // The run itself is untouched: not marked failed, so running the command again queues it anew.
      expect(existsSync(join(dir, 'bp-s0', 'summary.json'))).toBe(false);
      // A run directory this worker cannot see fails its job at once, with no retry.
      const lost = await queue.add('run', { ...job!.data, version: VERSION, runDir: '/nonexistent/compare/bp-s0' }, { jobId: 'lost', attempts: 3 });
      const w2 = await background(['worker', '--queue', `${redis.url}/6`, '--exit-when-idle'], FAST_LOCK).exited;
      expect(w2.code, w2.stderr).toBe(0);
      const gone = (await Job.fromId(queue, lost.id!))!;
      expect(await gone.getState()).toBe('failed');
      expect(gone.attemptsMade).toBe(1);
      expect(gone.failedReason).toMatch(/run directory \/nonexistent\/compare\/bp-s0 is not visible on \S+: every worker needs the compare directory at the same path \(a shared filesystem\)/);
      await queue.add('x', { hello: 'world' }, { jobId: 'foreign' });
      oneLineError(runCli([...base, '--rules', 'bp', '--queue', `${redis.url}/6`, '--out', join(tempDir(), 'x')]), /the queue biocredit-runs at redis:\/\/127\.0\.0\.1:\d+\/6 holds jobs of another project \(job foreign is not a biocredit run\); use another Redis database/);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  }, 120_000);

  it('keeps a password out of every file and message; a wrong or missing password and an unreachable server are one line', async () => {
    const guarded = await startRedis(['--requirepass', 's3cret-pw']);
    try {
      const port = guarded.port;
      oneLineError(runCli([...base, '--rules', 'bp', '--queue', `redis://:wrong-pw@127.0.0.1:${port}`, '--out', join(tempDir(), 'x')]), /Redis at redis:\/\/127\.0\.0\.1:\d+\/0 refused the credentials/);
      oneLineError(runCli([...base, '--rules', 'bp', '--queue', `redis://127.0.0.1:${port}`, '--out', join(tempDir(), 'x')]), /needs a password: give it as redis:\/\/:PASSWORD@HOST:PORT or in BIOCREDIT_REDIS_PASSWORD/);
      oneLineError(runCli(['worker', '--queue', `redis://:wrong-pw@127.0.0.1:${port}`]), /refused the credentials/);
      const closed = await freePort();
      oneLineError(runCli([...base, '--rules', 'bp', '--queue', `redis://127.0.0.1:${closed}`, '--out', join(tempDir(), 'x')]), /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0 \(.*\); is redis-server running there/);

      // Slurm: a stand-in sbatch records what it was given.
      const bin = tempDir('biocredit-sbatch-');
      writeFileSync(join(bin, 'sbatch'), `#!/bin/bash\nprintf '%s\\n' "$@" > '${bin}/args'\nprintf '%s' "$BIOCREDIT_REDIS_PASSWORD" > '${bin}/password'\necho 4242\n`);
      chmodSync(join(bin, 'sbatch'), 0o755);
      const dir = join(tempDir(), 'with-password');
      const r = runCli([...base, '--rules', 'bp,fa', '--queue', `redis://:s3cret-pw@127.0.0.1:${port}`, '--detach', '--slurm', '--partition=cpu --time="01:00:00"', '--out', dir], {
        PATH: `${bin}:${process.env['PATH']}`,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('submitted Slurm job 4242: 2 workers');
      expect(readFileSync(join(bin, 'args'), 'utf8').trim().split('\n')).toEqual(['--parsable', '--array=0-1', '--partition=cpu', '--time=01:00:00', join(dir, 'slurm-worker.sh')]);
      expect(readFileSync(join(bin, 'password'), 'utf8')).toBe('s3cret-pw');
      expect(readFileSync(join(dir, 'slurm-worker.sh'), 'utf8')).toMatch(/worker --queue 'redis:\/\/127\.0\.0\.1:\d+\/0' --exit-when-idle/);
      for (const text of [r.stdout, r.stderr, ...['compare.json', 'slurm-worker.sh', 'bp-s0/config.json', 'fa-s0/config.json'].map((f) => readFileSync(join(dir, f), 'utf8'))]) {
        expect(text).not.toContain('s3cret-pw');
      }
    } finally {
      await guarded.stop();
    }
  }, 120_000);

  it.each([
    [['--rules', 'bp', '--detach'], /--detach needs --queue URL/],
    [['--rules', 'bp', '--queue', 'http://127.0.0.1:1'], /--queue must be a redis:\/\/ or rediss:\/\/ URL \(got http:\/\/…\)/],
    [['--rules', 'bp', '--queue', 'redis://127.0.0.1:1/abc'], /the path after the port is a database number/],
  ])('rejects %j in one line', (extra, pattern) => {
    oneLineError(runCli([...base, ...extra, '--out', join(tempDir(), 'x')]), pattern);
  });
});
