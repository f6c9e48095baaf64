// The rules every input obeys, written once: the HTTP schemas (http/schemas.ts) publish them in
// the OpenAPI document and refuse early; core's validation (validate-*.ts) enforces them with a
// message per path. Patterns are RegExps here; a schema takes their `.source`.

/** change_set_id, principal ids, group names, policy names. */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const ID_MESSAGE = "must be 1–64 characters of A–Z, a–z, 0–9, '.', '_' or '-'";
export const ID_DESCRIPTION = 'letters, digits, ".", "_", "-"; 1–64';

/**
 * The shape of the internal ids (a change-set's `id`). A reference shaped like this means an internal
 * id and nothing else (store/change-sets.ts byReference), so no change_set_id may have this shape.
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const UUID_SHAPED_MESSAGE =
  'must not be shaped like a UUID: it would be confused with the internal ids that also name change-sets ' +
  '(in URLs, links and references); choose another id, e.g. with a prefix';

export const CATEGORY_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;
export const CATEGORY_MESSAGE =
  'must be an upper-case word: A–Z, 0–9 and _, starting with a letter, at most 64 characters';

/** `content_hash` as the API returns it. */
export const CONTENT_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** Most characters (code points) of each text field. */
export const MAX_LENGTH = Object.freeze({
  title: 200,
  description: 10_000,
  agent_type: 64,
  tag: 64,
  item_key: 128,
  target_type: 128,
  target_id: 512,
  reason: 2_000,
});

/** Most entries of each list field. */
export const MAX_ENTRIES = Object.freeze({ tags: 50, approval_chain: 100, groups: 50 });

/** Deeper JSON is refused: PostgreSQL's parser and recursive consumers have finite stacks. */
export const MAX_JSON_DEPTH = 100;
