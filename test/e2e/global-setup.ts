// The end-to-end tests run bin/changeledger.js, which imports dist/: build it once for the run
// when any input of the build is newer than the oldest file of dist (or dist is missing).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const INPUTS = ['src', 'scripts/build.mjs', 'tsconfig.build.json', 'tsconfig.json', 'package.json'];
const OUTPUTS = ['dist/cli/main.js', 'dist/store/migrations', 'dist/web/index.html'];

/** Every file under `path` (or `path` itself), with its modification time. */
function files(path: string): { path: string; mtimeMs: number }[] {
  const stat = statSync(path);
  if (!stat.isDirectory()) return [{ path, mtimeMs: stat.mtimeMs }];
  return readdirSync(path).flatMap((name) => files(join(path, name)));
}

function staleReason(): string | null {
  const missing = OUTPUTS.find((output) => !existsSync(join(ROOT, output)));
  if (missing) return `${missing} is missing`;
  // The build empties dist first, so its oldest file marks when the last build ran.
  const builtAt = Math.min(...files(join(ROOT, 'dist')).map((file) => file.mtimeMs));
  const newer = INPUTS.filter((input) => existsSync(join(ROOT, input)))
    .flatMap((input) => files(join(ROOT, input)))
    .find((file) => file.mtimeMs > builtAt);
  return newer ? `${relative(ROOT, newer.path)} is newer than dist` : null;
}

export function setup(): void {
  const reason = staleReason();
  if (reason === null) return;
  console.log(`e2e: ${reason}; running npm run build`);
  try {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    // The compiler's messages are in stdout; the rest is the build script's own stack trace.
    const { stdout, status } = error as { stdout?: string; status?: number | null };
    throw new Error(`npm run build failed (exit ${status}) before the e2e tests:\n${stdout ?? ''}`);
  }
}
