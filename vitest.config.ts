import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Every answer the tests receive is checked against the API document (src/http/response-check.ts).
    setupFiles: ['test/helpers/response-check-setup.ts'],
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/e2e/**', 'test/reliability/**'],
        },
      },
      {
        extends: true,
        // The real process: bin/changeledger.js runs dist/, built once when src is newer. Starting
        // servers (PGlite, a browser) takes much longer on a busy machine: the bounds leave room for it.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        // Faults, load, many instances and hostile input against real processes (docs/reliability.md).
        // One file at a time, after the other projects have finished, so that no scenario's timings
        // and load fight another's; each scenario keeps its own time budget well inside these bounds.
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
