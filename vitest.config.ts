import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages from source, so no build is needed between edit and test.
const root = fileURLToPath(new URL('.', import.meta.url));
const alias = readdirSync(`${root}packages`)
  .filter((dir) => existsSync(`${root}packages/${dir}/src/index.ts`))
  .flatMap((dir) => [
    { find: `@hybridcloud-postgresql/${dir}/testing`, replacement: `${root}packages/${dir}/src/testing/index.ts` },
    { find: new RegExp(`^@hybridcloud-postgresql/${dir}$`), replacement: `${root}packages/${dir}/src/index.ts` },
  ]);

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'charts/**/*.test.ts', 'examples/**/*.test.ts', 'test/**/*.test.ts'],
    // The template is a standalone package with its own npm test (run by examples/backend-template.it.test.ts).
    exclude: ['**/node_modules/**', 'examples/backend-template/**'],
    setupFiles: ['./vitest.setup.ts'],
    globalSetup: ['./vitest.globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Most integration tests wait on the apiserver, PostgreSQL and timers: on 2 cores a third worker
    // keeps both busy (measured: 1.3 cores used with 2 workers).
    maxWorkers: 3,
  },
});
