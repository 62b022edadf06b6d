import { defineConfig } from 'vitest/config';

// The machine has 2 cores and integration tests start real redis-server,
// worker and gateway processes: keep file parallelism low so readiness
// waits stay short and timing-sensitive stream tests keep generous margins.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
