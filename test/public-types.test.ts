// The library's public types as a consumer sees them: `import type { … } from 'changeledger'`,
// resolved through package.json `exports` to the declarations the build emits. The declarations
// are emitted from src/ into a scratch package under node_modules (dist/ is left alone: the e2e
// tests may be running it), and test/consumer/ is compiled against it with module resolution
// NodeNext, as a project depending on changeledger would compile.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
let scratch: string;
let diagnostics: string[];

/** Runs tsc; its diagnostics, one a line (`file(line,col): error TSnnnn: …`). */
function compile(args: string[]): string[] {
  try {
    execFileSync(process.execPath, [tsc, ...args], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    return [];
  } catch (error) {
    const { stdout } = error as { stdout?: string };
    return (stdout ?? String(error)).split('\n').filter((line) => /error TS\d+/.test(line));
  }
}

beforeAll(() => {
  // Under node_modules, so that the declarations find fastify, typebox and the rest as installed.
  scratch = mkdtempSync(join(root, 'node_modules', '.changeledger-consumer-'));
  const pkg = join(scratch, 'node_modules', 'changeledger');
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  mkdirSync(pkg, { recursive: true });
  const { name, type, main, types, exports } = own;
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, type, main, types, exports }));
  const emitted = compile([
    '-p',
    'tsconfig.build.json',
    '--emitDeclarationOnly',
    '--declarationMap',
    'false',
    '--sourceMap',
    'false',
    '--outDir',
    join(pkg, 'dist'),
  ]);
  expect(emitted).toEqual([]);
  cpSync(join(root, 'test', 'consumer'), scratch, { recursive: true });
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
      },
      files: ['consumer.ts', 'wrong.ts'],
    }),
  );
  diagnostics = compile(['-p', join(scratch, 'tsconfig.json')]);
}, 300_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("the public types, imported from 'changeledger'", () => {
  it('type-check a consumer using ApplyResult, PlanResult, RollbackResult, ResourceView, the Engine and the client', () => {
    expect(diagnostics.filter((line) => line.includes('consumer.ts'))).toEqual([]);
  });

  it('are real types: a missing export and a missing field are refused', () => {
    const wrong = diagnostics.filter((line) => line.includes('wrong.ts'));
    expect(wrong.some((line) => line.includes('TS2305') && line.includes('NotExported'))).toBe(true);
    expect(wrong.some((line) => line.includes('TS2339') && line.includes('no_such_field'))).toBe(true);
    expect(diagnostics.length).toBe(wrong.length);
  });

  it("type the client from 'changeledger/client': a decision without content_hash and a wrong body are refused", () => {
    const lines = readFileSync(join(root, 'test', 'consumer', 'wrong.ts'), 'utf8').split('\n');
    const refusedAt = (name: string) => {
      const line = lines.findIndex((text) => text.includes(`export const ${name} =`)) + 1;
      return diagnostics.some((d) => d.includes(`wrong.ts(${line},`) && /error TS2\d+/.test(d));
    };
    expect(refusedAt('unbound')).toBe(true);
    expect(refusedAt('wrongBody')).toBe(true);
  });
});
