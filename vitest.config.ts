import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Keep vitest's cache out of node_modules, so a later `npm ci` in the same tree
  // never races with it while removing node_modules (seen: ENOTEMPTY).
  cacheDir: join(tmpdir(), 'biocredit-vitest-cache'),
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    // tfjs's WebAssembly backend is happiest in its own process; one per core (the
    // backend is single-threaded, so a second file uses the other core).
    pool: 'forks',
    maxWorkers: availableParallelism(),
    // In a log (CI, a pipe) the default reporter prints a file only when all its tests
    // are done, and a contract table takes minutes: print each test as it finishes.
    // A terminal keeps the default view, which shows the files and tests under way.
    reporters: [process.stdout.isTTY ? 'default' : 'verbose'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
