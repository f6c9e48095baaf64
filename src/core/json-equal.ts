import type { Json } from './types.js';

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Structural equality of two JSON values; object key order does not matter. Iterative so that
 * deeply nested documents cannot overflow the stack.
 */
export function deepEqual(a: Json, b: Json): boolean {
  // An element is undefined only as a missing counterpart (never equal to a present value).
  const pending: [Json | undefined, Json | undefined][] = [[a, b]];
  for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
    const [left, right] = pair;
    if (left === right) continue;
    if (Array.isArray(left)) {
      if (!Array.isArray(right) || left.length !== right.length) return false;
      for (const [i, element] of left.entries()) pending.push([element, right[i]]);
    } else if (isObject(left)) {
      if (!isObject(right)) return false;
      const entries = Object.entries(left);
      if (entries.length !== Object.keys(right).length) return false;
      for (const [key, value] of entries) {
        if (!Object.hasOwn(right, key)) return false;
        pending.push([value, right[key]]);
      }
    } else {
      // Distinct primitives (or a primitive against a container).
      return false;
    }
  }
  return true;
}
