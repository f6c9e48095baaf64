// Words that changed inside a changed line, and the "viewed" marks' storage.
import { describe, expect, it } from 'vitest';
import { parseViewed, serializeViewed } from '../../src/web/lib/viewed.js';
import { tokens, wordDiff } from '../../src/web/lib/word-diff.js';

const changed = (segments: { text: string; changed: boolean }[]) =>
  segments.filter((s) => s.changed).map((s) => s.text);

describe('wordDiff', () => {
  it('marks only the value that changed, and joins back to the lines', () => {
    const diff = wordDiff('  "log": false,', '  "log": true');
    expect(changed(diff.before)).toEqual(['false,']);
    expect(changed(diff.after)).toEqual(['true']);
    expect(diff.before.map((s) => s.text).join('')).toBe('  "log": false,');
    expect(diff.after.map((s) => s.text).join('')).toBe('  "log": true');
  });

  it('keeps words like ports, paths and hostnames whole', () => {
    expect(tokens('"22/tcp" a.b-c@d')).toEqual(['"', '22/tcp', '"', ' ', 'a.b-c@d']);
    const diff = wordDiff('  "text": "Hello dear world"', '  "text": "Hello big world"');
    expect(changed(diff.before)).toEqual(['dear']);
    expect(changed(diff.after)).toEqual(['big']);
  });

  it('counts a very long line as changed as a whole', () => {
    const long = 'x '.repeat(500);
    const diff = wordDiff(long, `${long}y`);
    expect(diff.before).toEqual([{ text: long, changed: true }]);
  });
});

describe('viewed marks', () => {
  it('hold for the content they were made on only', () => {
    const raw = serializeViewed(new Set(['i2', 'i1']), 'sha256:a');
    expect(JSON.parse(raw)).toEqual({ content_hash: 'sha256:a', items: ['i1', 'i2'] });
    expect([...parseViewed(raw, 'sha256:a')]).toEqual(['i1', 'i2']);
    expect(parseViewed(raw, 'sha256:b').size).toBe(0);
    expect(parseViewed('not json', 'sha256:a').size).toBe(0);
    expect(parseViewed(null, 'sha256:a').size).toBe(0);
  });
});
