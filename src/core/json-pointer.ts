// RFC 6901 JSON Pointers, as used by the `path` and `from` members of RFC 6902 patch operations.

/** '' (the whole document) or '/'-prefixed reference tokens in which '~' appears only as '~0' or '~1'. */
const JSON_POINTER = /^(?:\/(?:[^~/]|~[01])*)*$/;

export const JSON_POINTER_MESSAGE = "must be a JSON Pointer: '' or '/'-prefixed tokens, with '~' only as ~0 or ~1";

export function isJsonPointer(value: string): boolean {
  return JSON_POINTER.test(value);
}

/** A pointer's reference tokens, unescaped: `/a~1b/0` → `['a/b', '0']`. */
export const pointerTokens = (pointer: string): string[] =>
  pointer
    .split('/')
    .slice(1)
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));

/**
 * `/items/3/target_id` → `items[3].target_id`, the path messages name. A token is an index where the
 * pointer walks through an array of `root.value` when it is given, else where it is all digits.
 */
export function pointerToPath(pointer: string, root?: { value: unknown }): string {
  let path = '';
  let node = root?.value;
  for (const token of pointerTokens(pointer)) {
    const index = root ? Array.isArray(node) : /^\d+$/.test(token);
    path += index ? `[${token}]` : path === '' ? token : `.${token}`;
    if (root) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[token] : undefined;
  }
  return path;
}
