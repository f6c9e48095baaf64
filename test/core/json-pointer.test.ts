import { describe, expect, it } from 'vitest';
import { isJsonPointer, pointerTokens, pointerToPath } from '../../src/core/json-pointer.js';

describe('JSON Pointers', () => {
  it('unescapes ~1 to / and ~0 to ~, in that order', () => {
    expect(pointerTokens('/a~1b/~01/0')).toEqual(['a/b', '~1', '0']);
    expect(pointerTokens('')).toEqual([]);
    expect(isJsonPointer('/a~2')).toBe(false);
  });

  it('names the path messages use: indexes in brackets, all-digit tokens without a value to walk', () => {
    expect(pointerToPath('/items/3/target_id')).toBe('items[3].target_id');
    expect(pointerToPath('')).toBe('');
  });

  it('decides index or key by the value it walks when it has one', () => {
    const value = { risk: { thresholds: [{ score: 1 }] }, map: { '7': true } };
    expect(pointerToPath('/risk/thresholds/0/score', { value })).toBe('risk.thresholds[0].score');
    expect(pointerToPath('/map/7', { value })).toBe('map.7');
    expect(pointerToPath('/map/7')).toBe('map[7]');
  });
});
