import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    // tfjs's WebAssembly backend is happiest in its own process.
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
