// The model-based lifecycle test at length: `npm run test:model -- --runs N [--seed S]
// [--max-commands M] [--path P] [--no-regressions]` runs test/engine/lifecycle-model.test.ts with N runs per database (PGlite,
// and PostgreSQL when TEST_DATABASE_URL is set) instead of the fixed-seed run of `npm test`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '500' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    'max-commands': { type: 'string', default: '40' },
    path: { type: 'string' },
    'no-regressions': { type: 'boolean', default: false },
  },
});
for (const [name, value] of Object.entries(values)) {
  if (typeof value === 'string' && name !== 'path' && !/^\d+$/.test(value)) {
    console.error(`--${name} must be a whole number, got ${value}`);
    process.exit(2);
  }
}
console.log(
  `lifecycle model: ${values.runs} runs per database, seed ${values.seed}, up to ${values['max-commands']} actions`,
);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// vitest's command (its package exports no subpath for it).
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const result = spawnSync(
  process.execPath,
  [vitest, 'run', '--project', 'unit', 'test/engine/lifecycle-model.test.ts'],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      MODEL_RUNS: values.runs,
      MODEL_SEED: values.seed,
      MODEL_MAX_COMMANDS: values['max-commands'],
      ...(values.path ? { MODEL_PATH: values.path } : {}),
      ...(values['no-regressions'] ? { MODEL_REGRESSIONS: '0' } : {}),
    },
  },
);
process.exit(result.status ?? 1);
