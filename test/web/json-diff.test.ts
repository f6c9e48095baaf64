// The dashboard's side-by-side JSON diff.
import { describe, expect, it } from 'vitest';
import { diffLines, prettyJson } from '../../src/web/lib/json-diff.js';

const rows = (before: unknown, after: unknown) =>
  diffLines(prettyJson(before as never), prettyJson(after as never)).map((r) => [r.kind, r.before, r.after]);

describe('diffLines', () => {
  it('pairs a changed value and marks an appended element without flagging the comma it adds', () => {
    expect(rows({ log: false, allow: ['443/tcp'] }, { allow: ['443/tcp', '22/tcp'], log: true })).toEqual([
      ['same', '{', '{'],
      ['same', '  "allow": [', '  "allow": ['],
      ['same', '    "443/tcp"', '    "443/tcp",'],
      ['added', null, '    "22/tcp"'],
      ['same', '  ],', '  ],'],
      ['changed', '  "log": false', '  "log": true'],
      ['same', '}', '}'],
    ]);
  });

  it('lines up keys whatever order they were stored in', () => {
    expect(rows({ b: 1, a: 2 }, { a: 2, b: 1 }).every(([kind]) => kind === 'same')).toBe(true);
  });

  it('shows a created target as all added and a deleted one as all removed', () => {
    expect(diffLines([], prettyJson({ a: 1 })).map((r) => r.kind)).toEqual(['added', 'added', 'added']);
    expect(diffLines(prettyJson([1]), []).map((r) => r.kind)).toEqual(['removed', 'removed', 'removed']);
  });

  it('gives up on alignment, not on the diff, for very large states', () => {
    const big = Array.from({ length: 2500 }, (_, i) => i);
    const result = diffLines(prettyJson(big), prettyJson([...big, 1]));
    expect(result.length).toBeGreaterThanOrEqual(2503);
    expect(result.some((r) => r.kind === 'same')).toBe(false);
  });
});
