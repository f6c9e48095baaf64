import type { Json } from './types.js';

const isObject = (value: Json): value is { [key: string]: Json } =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Structural equality of two JSON values; object key order does not matter. Iterative so that
 * deeply nested documents cannot overflow the stack.
 */
export function deepEqual(a: Json, b: Json): boolean {
  const pending: [Json, Json][] = [[a, b]];
  while (pending.length > 0) {
    const [left, right] = pending.pop()!;
    if (left === right) continue;
    if (Array.isArray(left)) {
      if (!Array.isArray(right) || left.length !== right.length) return false;
      for (let i = 0; i < left.length; i++) pending.push([left[i]!, right[i]!]);
    } else if (isObject(left)) {
      if (!isObject(right)) return false;
      const keys = Object.keys(left);
      if (keys.length !== Object.keys(right).length) return false;
      for (const key of keys) {
        if (!Object.hasOwn(right, key)) return false;
        pending.push([left[key]!, right[key]!]);
      }
    } else {
      // Distinct primitives (or a primitive against a container).
      return false;
    }
  }
  return true;
}
