import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'charts/**/*.test.ts', 'examples/**/*.test.ts'],
    setupFiles: ['./vitest.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Integration tests share one control plane per file; files run in parallel on the 2 cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
