// Compiles src/ to dist/, copies the non-TypeScript assets (SQL migrations) beside it, and builds
// the review dashboard (src/web, React with Vite) into static files in dist/web.
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

// Everything the page needs is bundled: no CDN, no font or script from the network.
const { build } = await import('vite');
const { default: react } = await import('@vitejs/plugin-react');
await build({
  configFile: false,
  root: join(root, 'src', 'web'),
  base: '/',
  logLevel: 'warn',
  plugins: [react()],
  build: {
    outDir: join(root, 'dist', 'web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
});
