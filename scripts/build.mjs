// Compiles src/ to dist/ and copies the non-TypeScript assets (SQL migrations) beside it.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
const migrations = join(root, 'src', 'store', 'migrations');
if (existsSync(migrations)) cpSync(migrations, join(root, 'dist', 'store', 'migrations'), { recursive: true });
