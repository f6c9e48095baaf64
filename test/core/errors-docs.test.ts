// docs/errors.md cannot rot: it has one row per code of the error catalog, with the catalog's
// status, a meaning and what to do; a code added to the catalog without its row fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../src/core/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const codesSection = doc.slice(doc.indexOf('## Codes'), doc.indexOf('\n## ', doc.indexOf('## Codes') + 1));
const rows = [...codesSection.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (.*) \| (.*) \|$/gm)].map((m) => ({
  code: m[1]!,
  status: Number(m[2]),
  meaning: m[3]!.trim(),
  fix: m[4]!.trim(),
}));

describe('docs/errors.md', () => {
  it('lists exactly the codes of the catalog, each once', () => {
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(ERROR_CATALOG).sort());
    expect(new Set(rows.map((r) => r.code)).size).toBe(rows.length);
  });

  it.each(Object.entries(ERROR_CATALOG))('gives %s the status of the catalog', (code, entry) => {
    expect(rows.find((r) => r.code === code)?.status).toBe(entry.status);
  });

  it('says for every code what it means and what to do', () => {
    for (const row of rows) {
      expect(row.meaning.length, row.code).toBeGreaterThan(20);
      expect(row.fix.length, row.code).toBeGreaterThan(10);
    }
  });
});
