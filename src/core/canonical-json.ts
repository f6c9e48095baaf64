// RFC 8785 JSON Canonicalization Scheme, and the content hash approvals are bound to (docs/design.md#change-sets-and-items):
// the same content always hashes the same, whatever the key order it arrived in.

import { createHash } from 'node:crypto';
import type { ItemInput } from './types.js';

/** Honours toJSON (as JSON.stringify does), so a Date serialises as its ISO string. */
function toJsonValue(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON: () => unknown }).toJSON();
  }
  return value;
}

// ECMAScript Number.prototype.toString is exactly RFC 8785's number format; -0 becomes "0".
function formatNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`canonicalJson: ${value} is not a JSON number`);
  return String(value);
}

function writeArray(values: readonly unknown[], parts: string[]): void {
  parts.push('[');
  for (let i = 0; i < values.length; i++) {
    if (i > 0) parts.push(',');
    const element = toJsonValue(values[i]);
    // As JSON.stringify: an undefined element is null.
    if (element === undefined) parts.push('null');
    else writeValue(element, parts);
  }
  parts.push(']');
}

function writeObject(object: Record<string, unknown>, parts: string[]): void {
  parts.push('{');
  let first = true;
  // The default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 asks for.
  for (const key of Object.keys(object).sort()) {
    const member = toJsonValue(object[key]);
    if (member === undefined) continue;
    parts.push(first ? '' : ',', JSON.stringify(key), ':');
    first = false;
    writeValue(member, parts);
  }
  parts.push('}');
}

function writeValue(value: unknown, parts: string[]): void {
  switch (typeof value) {
    case 'string':
      parts.push(JSON.stringify(value));
      return;
    case 'number':
      parts.push(formatNumber(value));
      return;
    case 'boolean':
      parts.push(value ? 'true' : 'false');
      return;
    case 'object':
      if (value === null) parts.push('null');
      else if (Array.isArray(value)) writeArray(value, parts);
      else writeObject(value as Record<string, unknown>, parts);
      return;
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} is not JSON`);
  }
}

/**
 * RFC 8785 canonical JSON: keys sorted by UTF-16 code units, no whitespace, ECMAScript number
 * and string serialisation. Undefined object members are omitted; non-finite numbers, functions,
 * symbols and bigints throw, as does an undefined top-level value.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  const json = toJsonValue(value);
  if (json === undefined) throw new TypeError('canonicalJson: undefined is not JSON');
  writeValue(json, parts);
  return parts.join('');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The reviewable content of a change-set: what approvers see and what their approval is bound to. */
export interface ReviewableContent {
  title: string;
  description: string | null;
  category: string;
  priority: string;
  items: ReadonlyArray<ItemInput>;
}

/** `sha256:` + hex of the canonical JSON of the reviewable content; tags, metadata and the like are not part of it. */
export function contentHash(content: ReviewableContent): string {
  const { title, description, category, priority } = content;
  const items = content.items.map((item) => ({
    key: item.key,
    operation_type: item.operation_type,
    target_type: item.target_type,
    target_id: item.target_id,
    after_state: item.after_state,
    diff_data: item.diff_data,
    before_state: item.before_state,
    base_version: item.base_version,
    depends_on: item.depends_on,
  }));
  return 'sha256:' + sha256Hex(canonicalJson({ title, description, category, priority, items }));
}
