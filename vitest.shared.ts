import { defineConfig } from 'vitest/config';

/** The vitest settings every package shares: real processes and disks, so forks and generous timeouts. */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
