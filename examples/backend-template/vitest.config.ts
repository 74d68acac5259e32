import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The kit starts a kube-apiserver (built once into ~/.cache/hybridcloud-postgresql) and PostgreSQL.
    hookTimeout: 1_200_000,
    testTimeout: 300_000,
    pool: 'forks',
  },
});
