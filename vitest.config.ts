import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Builds dist/ once: the CLI tests run bin/flowgram.js, which imports the build output.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Worker threads (code sandbox) and child processes (CLI, servers) need real processes around them.
    pool: 'forks',
    reporters: ['default', './test/plain-summary-reporter.ts'],
  },
});
