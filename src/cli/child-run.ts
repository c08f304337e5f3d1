/**
 * One training run in a child process: `biocredit train --resume DIR`, which
 * reports over IPC (ipc.ts) and stops at a step boundary with a checkpoint when
 * sent `{ type: 'stop' }`, sent SIGTERM, or left by its parent. Used by
 * `compare` for local runs and by `worker` for queued ones.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { IPC_ENV, type WorkerMessage } from './ipc.js';

export const BIN = fileURLToPath(new URL('../../bin/biocredit.js', import.meta.url));

export interface ChildExit {
  /** The exit code (128 when killed by a signal); 130: stopped on request with a checkpoint. */
  code: number;
  /** The last line it wrote to stderr, without the `biocredit: error:` prefix. */
  error?: string;
}

export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`worker entry ${BIN} is missing; build the project (npm run build)`);
}

/** Starts the run in `runDir`; `children` holds it while it runs. */
export function trainChild(runDir: string, backend: string | undefined, onMessage: (m: WorkerMessage) => void, children: Set<ChildProcess>): { child: ChildProcess; exit: Promise<ChildExit> } {
  const argv = ['train', '--resume', runDir, ...(backend ? ['--backend', backend] : [])];
  const child = fork(BIN, argv, { env: { ...process.env, [IPC_ENV]: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('message', onMessage);
  const exit = new Promise<ChildExit>((resolveExit) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      const c = code ?? (signal ? 128 : 1);
      const last = stderr.trim().split('\n').at(-1)?.replace(/^biocredit: error: /, '');
      resolveExit({ code: c, ...(c !== 0 && c !== 130 ? { error: last || `exit code ${c}` } : {}) });
    });
  });
  return { child, exit };
}
