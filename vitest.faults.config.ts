import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run faults`: only the fault suite (*.faults.test.ts) and the conformance kits, one file at a time (timings are
// reported, so files do not compete for the two cores), HC_FAULTS_N runs per scenario (20 unless
// told), and one table of all rows at the end (faults.globalSetup.ts).
const merged = mergeConfig(base, {
  test: {
    globalSetup: ['./packages/backend-external/src/e2e/faults/faults.globalSetup.ts'],
    fileParallelism: false,
    testTimeout: 3_600_000,
  },
});
// The backends' conformance kits too: with every crash point (HC_TESTKIT_CRASH_POINTS=all).
merged.test!.include = ['packages/*/src/**/*.faults.test.ts', 'packages/*/src/conformance.it.test.ts'];
export default defineConfig(merged);
