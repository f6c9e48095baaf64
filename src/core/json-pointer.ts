// RFC 6901 JSON Pointers, as used by the `path` and `from` members of RFC 6902 patch operations.

/** '' (the whole document) or '/'-prefixed reference tokens in which '~' appears only as '~0' or '~1'. */
const JSON_POINTER = /^(?:\/(?:[^~/]|~[01])*)*$/;

export const JSON_POINTER_MESSAGE = "must be a JSON Pointer: '' or '/'-prefixed tokens, with '~' only as ~0 or ~1";

export function isJsonPointer(value: string): boolean {
  return JSON_POINTER.test(value);
}
