// The repository explains itself: code, tests and docs point at sections of docs/, never at a
// document that is not in the repository, and every such pointer leads to a file and heading that
// exist. Pointers are written `docs/design.md#lifecycle` in code and as relative Markdown links in
// docs/ and the README; anchors are computed as GitHub computes them.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchors, REPO_ROOT } from './markdown.js';

const ROOT = fileURLToPath(REPO_ROOT);
const SCANNED = ['src', 'test', 'docs', 'bench', 'scripts', '.ci', 'README.md'];
/**
 * Applied migrations are checksummed (src/store/migrator.ts): editing one, even a comment, would
 * make every existing database refuse to start, so their text stays as it was written.
 */
const FROZEN = /^src\/store\/migrations\/.*\.sql$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'results']);
/** This file names broken pointers on purpose, to test the check. */
const SELF = relative(ROOT, fileURLToPath(import.meta.url));

function filesUnder(path: string): string[] {
  const absolute = join(ROOT, path);
  try {
    return readdirSync(absolute, { withFileTypes: true }).flatMap((entry) => {
      if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : filesUnder(join(path, entry.name));
      return [join(path, entry.name)];
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return [path];
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

const files = SCANNED.flatMap(filesUnder)
  .map((path) => ({ path, text: readFileSync(join(ROOT, path), 'utf8') }))
  .filter(({ text }) => !text.includes('\u0000'));

/** The lines where any of `patterns` matches, as `path:line: the line`. */
function occurrences(patterns: readonly RegExp[], keep: (path: string) => boolean): string[] {
  return files
    .filter(({ path }) => keep(path))
    .flatMap(({ path, text }) =>
      text
        .split('\n')
        .flatMap((line, i) => (patterns.some((p) => p.test(line)) ? [`${path}:${i + 1}: ${line.trim()}`] : [])),
    );
}

const anchorsOf = new Map<string, Set<string> | null>();
/** The anchors of a Markdown file of the repository, or null when it does not exist. */
function anchorsIn(path: string): Set<string> | null {
  if (!anchorsOf.has(path)) {
    const file = files.find((f) => f.path === path);
    anchorsOf.set(path, file ? anchors(file.text) : null);
  }
  return anchorsOf.get(path)!;
}

/** What is wrong with a pointer at `target` (`docs/x.md` with an optional `#anchor`), or null. */
function brokenPointer(target: string): string | null {
  const [path, anchor] = target.split('#') as [string, string | undefined];
  const found = anchorsIn(path);
  if (found === null) return `${path} does not exist`;
  if (anchor !== undefined && !found.has(anchor)) return `${path} has no heading with anchor #${anchor}`;
  return null;
}

describe('pointers into the documentation', () => {
  it('never name the product brief that is not in the repository', () => {
    // Spelled in two parts so that this file does not find itself.
    const name = new RegExp(`\\b${'SP'}${'EC'}\\b`);
    // A bare section sign is a section of that brief too, unless it is an RFC's.
    const section = /(?<!RFC \d+ )§\s?\d/;
    expect(occurrences([name, section], (path) => !FROZEN.test(path))).toEqual([]);
  });

  it('in code and tests (docs/x.md#anchor) lead to a file and heading that exist', () => {
    const broken = files
      .filter(({ path }) => !path.endsWith('.md') && path !== SELF)
      .flatMap(({ path, text }) =>
        [...text.matchAll(/\bdocs\/[\w.-]+\.md(?:#[\w-]+)?/g)].flatMap(([target]) => {
          const problem = brokenPointer(target);
          return problem ? [`${path}: ${target}: ${problem}`] : [];
        }),
      );
    expect(broken).toEqual([]);
  });

  it('in Markdown ([text](x.md#anchor), [text](#anchor)) lead to a file and heading that exist', () => {
    const broken = files
      .filter(({ path }) => path.endsWith('.md'))
      .flatMap(({ path, text }) =>
        [...text.matchAll(/\]\(([^)\s]*?\.md)?(#[^)\s]*)?\)/g)].flatMap(([, file, anchor]) => {
          if (file === undefined && anchor === undefined) return [];
          if (file !== undefined && /^[a-z]+:/i.test(file)) return [];
          const target = file === undefined ? path : relative(ROOT, resolve(ROOT, dirname(path), file));
          const problem = brokenPointer(`${target}${anchor ?? ''}`);
          return problem ? [`${path}: ${file ?? ''}${anchor ?? ''}: ${problem}`] : [];
        }),
      );
    expect(broken).toEqual([]);
  });

  it('reads anchors as GitHub does', () => {
    expect([
      ...anchors('# A `b`, c: d\n## Apply and rollback\n```sh\n# not a heading\n```\n## Apply and rollback'),
    ]).toEqual(['a-b-c-d', 'apply-and-rollback', 'apply-and-rollback-1']);
    expect(brokenPointer('docs/design.md#lifecycle')).toBeNull();
    expect(brokenPointer('docs/design.md#no-such-heading')).toMatch(/no heading/);
    expect(brokenPointer('docs/no-such-page.md')).toMatch(/does not exist/);
  });
});
