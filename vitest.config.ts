import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'deploy/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
      'tools/test/**/*.test.ts',
    ],
    // Cluster tests start several server processes; on a 2-core machine two
    // files at a time keeps timings honest.
    fileParallelism: true,
    maxWorkers: 2,
    setupFiles: ['packages/testing/src/vitest-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
