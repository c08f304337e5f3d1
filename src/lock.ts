/**
 * Directory locks: one process at a time trains, resumes or analyses a run
 * directory, and one `compare` at a time drives a compare directory. The lock is
 * a file `lock` holding the owner's pid and host, created exclusively; it is
 * removed when the owner releases it or exits, and a lock left by a process that
 * died (same host, pid gone) is taken over. A second process gets one line:
 * `DIR is in use by pid N on HOST`.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BiocreditError } from './errors.js';

export const LOCK_FILE = 'lock';

interface Owner {
  pid: number;
  host: string;
  since: string;
}

/** Another process holds the directory (exit 1: nothing is wrong with the command). */
export class BusyError extends BiocreditError {
  constructor(readonly dir: string, readonly owner: Owner | null) {
    const who = owner ? `pid ${owner.pid} on ${owner.host} (since ${owner.since})` : 'a process that is writing its lock';
    super(`${dir} is in use by ${who}; if that process is gone, delete ${join(dir, LOCK_FILE)}`, 1);
  }
}

/** Locks this process holds, released when it exits however it exits (but for SIGKILL, which the next owner detects). */
const held = new Set<string>();
let hooked = false;

/** Whether a process of this machine is running. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): Owner | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Owner;
  } catch {
    return null;
  }
}

export interface Lock {
  readonly dir: string;
  release(): void;
}

/** Takes the lock of `dir` (which must exist), or throws BusyError naming its owner. */
export function lockDir(dir: string): Lock {
  const path = join(dir, LOCK_FILE);
  const me: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readOwner(path);
      // A lock whose owner died on this host is stale, and so is one left unreadable for a while
      // (its owner died between creating and writing it).
      const stale = owner ? owner.host === me.host && owner.pid !== process.pid && !processAlive(owner.pid) : modifiedBefore(path, Date.now() - 5000);
      if (!stale || attempt > 0) throw new BusyError(dir, owner);
      rmSync(path, { force: true });
    }
  }
  held.add(path);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const p of held) release(p);
    });
  }
  return { dir, release: () => release(path) };
}

/** Whether `path` was last modified before `time` (a file gone meanwhile counts: its lock was released). */
function modifiedBefore(path: string, time: number): boolean {
  try {
    return statSync(path).mtimeMs < time;
  } catch {
    return true;
  }
}

function release(path: string): void {
  if (!held.delete(path)) return;
  const owner = readOwner(path);
  if (owner?.pid === process.pid && existsSync(path)) unlinkSync(path);
}

/** The live owner of a directory's lock, if any (a stale lock counts as none). */
export function lockOwner(dir: string): Owner | null {
  const owner = readOwner(join(dir, LOCK_FILE));
  if (!owner) return null;
  return owner.host !== hostname() || processAlive(owner.pid) ? owner : null;
}
