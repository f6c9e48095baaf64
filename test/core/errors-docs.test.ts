// docs/errors.md cannot rot: it has one row per code of the error catalog, with the catalog's
// status, a meaning and the catalog's fix word for word; a code added to the catalog without its
// row, or a status or fix changed in one place only, fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, LedgerError } from '../../src/core/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const codesSection = doc.slice(doc.indexOf('## Codes'), doc.indexOf('\n## ', doc.indexOf('## Codes') + 1));
const rows = [...codesSection.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (.*) \| (.*) \|$/gm)].map((m) => ({
  code: m[1]!,
  status: Number(m[2]),
  meaning: m[3]!.trim(),
  // Code spans are markdown only: the catalog's fix is plain text.
  fix: m[4]!.trim().replaceAll('`', ''),
}));

describe('docs/errors.md', () => {
  it('lists exactly the codes of the catalog, each once', () => {
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(ERROR_CATALOG).sort());
    expect(new Set(rows.map((r) => r.code)).size).toBe(rows.length);
  });

  it.each(Object.entries(ERROR_CATALOG))('gives %s the status and the fix of the catalog', (code, entry) => {
    const row = rows.find((r) => r.code === code);
    expect(row?.status).toBe(entry.status);
    expect(row?.fix).toBe(entry.fix);
  });

  it('says for every code what it means, and every fix is one sentence', () => {
    for (const row of rows) {
      expect(row.meaning.length, row.code).toBeGreaterThan(20);
      expect(row.fix, row.code).toMatch(/^[A-Z].*\.$/s);
      expect(row.fix.slice(0, -1), row.code).not.toMatch(/\. [A-Z]/);
    }
  });

  it('documents every code src/ gives a refusal, an item error or a client error, wherever it is made', () => {
    const section = (title: string) =>
      doc.slice(doc.indexOf(`## ${title}`), doc.indexOf('\n## ', doc.indexOf(`## ${title}`) + 1));
    const documented = new Set([
      ...Object.keys(ERROR_CATALOG),
      ...[...section('Item errors').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!),
      ...[...section('Codes the clients make up').matchAll(/^\| `([A-Z_]+)(?:<status>)?`/gm)].map((m) => m[1]!),
    ]);
    const src = join(import.meta.dirname, '..', '..', 'src');
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
      (f) => /\.tsx?$/.test(f) && !f.startsWith(join('client', 'schema')),
    );
    const made = new Map<string, string>();
    // A refusal (LedgerError), a dashboard error (ApiError, its status first), an item error
    // ({ code: '…' } or fail('…', …)), and the HTTP_<status> of an answer in no known shape.
    const patterns = [
      /new (?:LedgerError|ApiError)\(\s*(?:[\w.]+,\s*)?'([A-Z_]+)'/g,
      /\bcode: '([A-Z_]+)'/g,
      /\bfail\('([A-Z_]+)'/g,
      /[`'](HTTP_)\$\{/g,
    ];
    for (const file of files) {
      const text = readFileSync(join(src, file), 'utf8');
      for (const pattern of patterns) for (const m of text.matchAll(pattern)) made.set(m[1]!, file);
    }
    expect(made.size).toBeGreaterThan(20);
    const missing = [...made].filter(([code]) => !documented.has(code)).map(([code, file]) => `${code} (${file})`);
    expect(missing, 'codes made in src/ that docs/errors.md does not list').toEqual([]);
  });

  it("puts the catalog's fix on a refusal that brings none of its own, and prefers one that does", () => {
    expect(new LedgerError('PRECONDITION_FAILED', 'moved').toBody().fix).toBe(ERROR_CATALOG.PRECONDITION_FAILED.fix);
    expect(new LedgerError('CONFLICT', 'busy', undefined, { fix: 'retry' }).toBody()).toMatchObject({ fix: 'retry' });
  });
});
