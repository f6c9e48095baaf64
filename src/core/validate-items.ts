// Validation of change-set items (docs/design.md#change-sets-and-items), and the checks every body field shares: strings,
// JSON values and issue paths. Checks record issues and return INVALID instead of throwing, so
// a caller can report every problem at once.

import { defined } from './defined.js';
import { MAX_JSON_DEPTH, MAX_LENGTH } from './input-rules.js';
import { isJsonPointer, JSON_POINTER_MESSAGE } from './json-pointer.js';
import { oneOfMessage } from './schema-issues.js';
import { type ItemInput, type Json, OPERATION_TYPES, type OperationType, type PatchOperation } from './types.js';

export interface ValidationIssue {
  path: string;
  message: string;
  /** The values a field of fixed values accepts. */
  allowed?: string[];
}

/** What a check returns when it has recorded an issue. */
export const INVALID: unique symbol = Symbol('invalid');
export type Checked<T> = T | typeof INVALID;

// PostgreSQL text and jsonb cannot store U+0000.
const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

export type Body = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Body {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function fail(issues: ValidationIssue[], path: string, message: string): typeof INVALID {
  issues.push({ path, message });
  return INVALID;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `parent.key`, or `parent["odd key"]` when the key is not an identifier. */
export function propertyPath(parent: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function reportUnknownFields(body: Body, known: ReadonlySet<string>, path: string, issues: ValidationIssue[]) {
  for (const key of Object.keys(body)) {
    if (!known.has(key)) issues.push({ path: propertyPath(path, key), message: 'unknown field' });
  }
}

/** Length as PostgreSQL counts it: code points, not UTF-16 units. */
function characterCount(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) count++;
  }
  return count;
}

export interface StringRule {
  min?: number;
  max?: number;
  nonBlank?: boolean;
  pattern?: RegExp;
  patternMessage?: string;
}

export function checkString(
  value: unknown,
  path: string,
  issues: ValidationIssue[],
  rule: StringRule,
): Checked<string> {
  if (typeof value !== 'string') return fail(issues, path, 'must be a string');
  if (value.includes('\u0000')) return fail(issues, path, NUL_MESSAGE);
  if (rule.nonBlank && value.trim() === '') return fail(issues, path, 'must not be blank');
  if (rule.pattern && !rule.pattern.test(value)) return fail(issues, path, rule.patternMessage ?? 'is malformed');
  const { min = 0, max = Number.POSITIVE_INFINITY } = rule;
  const length = characterCount(value);
  if (length < min || length > max) {
    return fail(issues, path, min > 0 ? `must be ${min}–${max} characters` : `must be at most ${max} characters`);
  }
  return value;
}

export function checkOneOf<T extends string>(
  value: unknown,
  path: string,
  issues: ValidationIssue[],
  allowed: readonly T[],
): Checked<T> {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  issues.push({ path, message: oneOfMessage(allowed), allowed: [...allowed] });
  return INVALID;
}

function jsonProblem(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value.includes('\u0000') ? NUL_MESSAGE : undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : 'must be a finite number';
    case 'boolean':
      return undefined;
    case 'object':
      return value === null || Array.isArray(value) || isPlainObject(value) ? undefined : 'must be a plain JSON object';
    default:
      return `must be a JSON value, not ${typeof value}`;
  }
}

interface JsonFrame {
  value: unknown;
  path: string;
  depth: number;
}

function pushChildren(frame: JsonFrame, stack: JsonFrame[], issues: ValidationIssue[]) {
  const value = frame.value as Body | unknown[];
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((element, i) => [`${frame.path}[${i}]`, element])
    : Object.keys(value).map((key) => [propertyPath(frame.path, key), value[key]]);
  if (entries.length > 0 && frame.depth >= MAX_JSON_DEPTH) {
    issues.push({ path: frame.path, message: `must not be nested more than ${MAX_JSON_DEPTH} levels deep` });
    return;
  }
  if (!Array.isArray(value)) {
    for (const key of Object.keys(value)) {
      if (key.includes('\u0000')) issues.push({ path: propertyPath(frame.path, key), message: `key ${NUL_MESSAGE}` });
    }
  }
  // Reversed, so that the first child is checked first.
  for (const [path, child] of entries.reverse()) {
    stack.push({ value: child, path, depth: frame.depth + 1 });
  }
}

/** Any JSON value. Iterative, so deeply nested junk cannot overflow the stack. */
export function checkJson(value: unknown, path: string, issues: ValidationIssue[]): Checked<Json> {
  const before = issues.length;
  const stack: JsonFrame[] = [{ value, path, depth: 0 }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const problem = jsonProblem(frame.value);
    if (problem !== undefined) issues.push({ path: frame.path, message: problem });
    else if (typeof frame.value === 'object' && frame.value !== null) pushChildren(frame, stack, issues);
  }
  return issues.length === before ? (value as Json) : INVALID;
}

// ---- JSON Patch (RFC 6902) ----

const PATCH_FIELDS: Readonly<Record<PatchOperation['op'], ReadonlySet<string>>> = {
  add: new Set(['op', 'path', 'value']),
  remove: new Set(['op', 'path']),
  replace: new Set(['op', 'path', 'value']),
  move: new Set(['op', 'path', 'from']),
  copy: new Set(['op', 'path', 'from']),
  test: new Set(['op', 'path', 'value']),
};
const PATCH_OPS = Object.keys(PATCH_FIELDS) as Array<PatchOperation['op']>;
const ANY_PATCH_FIELD = new Set(['op', 'path', 'value', 'from']);

function checkPointer(value: unknown, path: string, issues: ValidationIssue[]): Checked<string> {
  if (value === undefined) return fail(issues, path, 'is required');
  const text = checkString(value, path, issues, {});
  if (text === INVALID) return INVALID;
  return isJsonPointer(text) ? text : fail(issues, path, JSON_POINTER_MESSAGE);
}

function checkPatchOperation(raw: unknown, path: string, issues: ValidationIssue[]): Checked<PatchOperation> {
  if (!isPlainObject(raw)) return fail(issues, path, 'must be a JSON Patch operation object');
  const before = issues.length;
  const op = checkOneOf(raw['op'], `${path}.op`, issues, PATCH_OPS);
  const allowed = op === INVALID ? ANY_PATCH_FIELD : PATCH_FIELDS[op];
  for (const key of Object.keys(raw)) {
    if (!ANY_PATCH_FIELD.has(key)) issues.push({ path: propertyPath(path, key), message: 'unknown field' });
    else if (!allowed.has(key)) issues.push({ path: `${path}.${key}`, message: `is not allowed for ${op as string}` });
  }
  checkPointer(raw['path'], `${path}.path`, issues);
  if (op !== INVALID && allowed.has('from')) checkPointer(raw['from'], `${path}.from`, issues);
  if (op !== INVALID && allowed.has('value')) {
    if (raw['value'] === undefined) issues.push({ path: `${path}.value`, message: `is required for ${op}` });
    else checkJson(raw['value'], `${path}.value`, issues);
  }
  return issues.length === before ? (raw as unknown as PatchOperation) : INVALID;
}

export function checkPatch(value: unknown, path: string, issues: ValidationIssue[]): Checked<PatchOperation[]> {
  if (!Array.isArray(value) || value.length === 0) {
    return fail(issues, path, 'must be a non-empty array of JSON Patch (RFC 6902) operations');
  }
  const before = issues.length;
  for (let i = 0; i < value.length; i++) checkPatchOperation(value[i], `${path}[${i}]`, issues);
  return issues.length === before ? (value as PatchOperation[]) : INVALID;
}

// ---- items ----

type Presence = 'required' | 'optional' | 'forbidden';

/** Which state an operation carries. UPDATE needs at least one of the two. */
const OPERATION_FIELDS: Readonly<Record<OperationType, { after_state: Presence; diff_data: Presence }>> = {
  CREATE: { after_state: 'required', diff_data: 'forbidden' },
  UPDATE: { after_state: 'optional', diff_data: 'optional' },
  DELETE: { after_state: 'forbidden', diff_data: 'forbidden' },
  RESET: { after_state: 'optional', diff_data: 'forbidden' },
  CLEAR: { after_state: 'forbidden', diff_data: 'forbidden' },
};

const ITEM_FIELDS: ReadonlySet<string> = new Set([
  'key',
  'operation_type',
  'target_type',
  'target_id',
  'after_state',
  'diff_data',
  'before_state',
  'base_version',
  'depends_on',
]);

/** One item as read, before keys and dependencies are resolved across the change-set. */
interface DraftItem {
  item: Partial<ItemInput>;
  /** Explicit key (even a malformed string one: it still identifies the item), or undefined. */
  explicitKey: string | undefined;
  /** depends_on entries that are strings, with their position in the array. */
  dependsOn: Array<{ key: string; position: number }>;
}

function requireField<T>(
  raw: Body,
  field: string,
  path: string,
  issues: ValidationIssue[],
  check: (value: unknown, path: string) => Checked<T>,
): Checked<T> {
  const value = raw[field];
  if (value === undefined) return fail(issues, `${path}.${field}`, 'is required');
  return check(value, `${path}.${field}`);
}

function checkBaseVersion(value: unknown, path: string, issues: ValidationIssue[]): Checked<number> {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value === 0 ? 0 : value;
  return fail(issues, path, 'must be a non-negative integer');
}

function checkDependsOnShape(value: unknown, path: string, issues: ValidationIssue[]): DraftItem['dependsOn'] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    fail(issues, path, 'must be an array of item keys');
    return [];
  }
  const entries: DraftItem['dependsOn'] = [];
  for (let position = 0; position < value.length; position++) {
    const key = checkString(value[position], `${path}[${position}]`, issues, {});
    if (key !== INVALID) entries.push({ key, position });
  }
  return entries;
}

/** after_state and diff_data, as the operation allows them. */
function checkState(op: Checked<OperationType>, raw: Body, path: string, issues: ValidationIssue[]) {
  const rules = op === INVALID ? OPERATION_FIELDS.UPDATE : OPERATION_FIELDS[op];
  const state: Partial<ItemInput> = {};
  for (const field of ['after_state', 'diff_data'] as const) {
    const value = raw[field];
    const at = `${path}.${field}`;
    if (value === undefined) {
      if (rules[field] === 'required') fail(issues, at, `is required for ${op as string}`);
    } else if (rules[field] === 'forbidden') fail(issues, at, `is not allowed for ${op as string}`);
    else if (field === 'after_state') state.after_state = checkJson(value, at, issues) as Json;
    else state.diff_data = checkPatch(value, at, issues) as PatchOperation[];
  }
  if (op === 'UPDATE' && raw['after_state'] === undefined && raw['diff_data'] === undefined) {
    fail(issues, `${path}.after_state`, 'is required for UPDATE unless diff_data is given');
  }
  return state;
}

function checkItem(raw: unknown, path: string, issues: ValidationIssue[]): DraftItem {
  if (!isPlainObject(raw)) {
    fail(issues, path, 'must be an object');
    return { item: {}, explicitKey: undefined, dependsOn: [] };
  }
  reportUnknownFields(raw, ITEM_FIELDS, path, issues);
  const text = (min: number, max: number) => (value: unknown, at: string) =>
    checkString(value, at, issues, { min, max });
  const rawKey = raw['key'];
  if (rawKey !== undefined) text(1, MAX_LENGTH.item_key)(rawKey, `${path}.key`);
  const op = requireField(raw, 'operation_type', path, issues, (v, at) => checkOneOf(v, at, issues, OPERATION_TYPES));
  const item: Partial<ItemInput> = {
    key: '', // set once every key in the change-set is known; first, so it reads first
    operation_type: op as OperationType,
    target_type: requireField(raw, 'target_type', path, issues, text(1, MAX_LENGTH.target_type)) as string,
    target_id: requireField(raw, 'target_id', path, issues, text(1, MAX_LENGTH.target_id)) as string,
    ...checkState(op, raw, path, issues),
  };
  if (raw['before_state'] !== undefined)
    item.before_state = checkJson(raw['before_state'], `${path}.before_state`, issues) as Json;
  if (raw['base_version'] !== undefined)
    item.base_version = checkBaseVersion(raw['base_version'], `${path}.base_version`, issues) as number;
  const dependsOn = checkDependsOnShape(raw['depends_on'], `${path}.depends_on`, issues);
  item.depends_on = dependsOn.map((entry) => entry.key);
  return { item, explicitKey: typeof rawKey === 'string' ? rawKey : undefined, dependsOn };
}

/**
 * Gives every item its key (explicit, or its index when absent) and reports duplicates: a later
 * explicit duplicate, or an explicit key equal to the default key of a keyless item.
 */
function assignKeys(drafts: DraftItem[], raws: readonly unknown[], path: string, issues: ValidationIssue[]) {
  const owners = new Map<string, number>();
  drafts.forEach((draft, i) => {
    const key = draft.explicitKey;
    if (key === undefined) return;
    const owner = owners.get(key);
    if (owner === undefined) owners.set(key, i);
    else
      issues.push({ path: `${path}[${i}].key`, message: `duplicate key "${key}" (already used by ${path}[${owner}])` });
  });
  drafts.forEach((draft, i) => {
    if (draft.explicitKey !== undefined || (isPlainObject(raws[i]) && raws[i]['key'] !== undefined)) return;
    const key = String(i);
    const owner = owners.get(key);
    if (owner !== undefined) {
      const message = `key "${key}" collides with the default key of ${path}[${i}], which has no key of its own`;
      issues.push({ path: `${path}[${owner}].key`, message });
    } else owners.set(key, i);
    draft.item.key = key;
  });
  drafts.forEach((draft) => {
    if (draft.explicitKey !== undefined) draft.item.key = draft.explicitKey;
  });
  return owners;
}

/** Resolves depends_on to item indexes; unknown keys and self-dependencies are issues. */
function resolveDependencies(
  drafts: DraftItem[],
  owners: Map<string, number>,
  path: string,
  issues: ValidationIssue[],
) {
  return drafts.map((draft, i) => {
    const targets: number[] = [];
    for (const { key, position } of draft.dependsOn) {
      const target = owners.get(key);
      const at = `${path}[${i}].depends_on[${position}]`;
      if (target === undefined) issues.push({ path: at, message: `unknown item key "${key}"` });
      else if (target === i) issues.push({ path: at, message: 'an item cannot depend on itself' });
      else targets.push(target);
    }
    return targets;
  });
}

const CYCLE_KEYS_SHOWN = 10;

function describeCycle(keys: (position: number) => string, length: number): string {
  if (length <= CYCLE_KEYS_SHOWN) {
    return `dependency cycle: ${Array.from({ length }, (_, k) => keys(k)).join(' → ')} → ${keys(0)}`;
  }
  const shown = Array.from({ length: CYCLE_KEYS_SHOWN }, (_, k) => keys(k)).join(' → ');
  return `dependency cycle of ${length} items: ${shown} → … → ${keys(length - 1)} → ${keys(0)}`;
}

/** Iterative depth-first search: every back edge closes one cycle, reported at the item it returns to. */
function reportCycles(edges: number[][], itemKeys: string[], path: string, issues: ValidationIssue[]) {
  const state = new Uint8Array(edges.length); // 0 unvisited, 1 on the stack, 2 finished
  const nextEdge = new Uint32Array(edges.length);
  const stackPosition = new Uint32Array(edges.length);
  const stack: number[] = [];
  const enter = (node: number) => {
    state[node] = 1;
    stackPosition[node] = stack.length;
    stack.push(node);
  };
  for (let root = 0; root < edges.length; root++) {
    if (state[root] !== 0) continue;
    enter(root);
    for (let node = stack.at(-1); node !== undefined; node = stack.at(-1)) {
      const edgeIndex = defined(nextEdge[node], 'edge cursor');
      nextEdge[node] = edgeIndex + 1;
      const target = defined(edges[node], 'edge list')[edgeIndex];
      if (target === undefined) {
        state[node] = 2;
        stack.pop();
      } else if (state[target] === 0) enter(target);
      else if (state[target] === 1) {
        const start = defined(stackPosition[target], 'stack position');
        const keyAt = (k: number) => defined(itemKeys[defined(stack[start + k], 'cycle node')], 'item key');
        const message = describeCycle(keyAt, stack.length - start);
        issues.push({ path: `${path}[${target}].depends_on`, message });
      }
    }
  }
}

/** The items array: each item, then keys, dependencies and cycles across the change-set. */
export function validateItems(
  value: unknown,
  path: string,
  maxItems: number,
  issues: ValidationIssue[],
): Checked<ItemInput[]> {
  if (!Array.isArray(value)) return fail(issues, path, 'must be an array of items');
  if (value.length === 0) return fail(issues, path, 'must have at least 1 item');
  if (value.length > maxItems) return fail(issues, path, `must have at most ${maxItems} items (limits.max_items)`);
  const before = issues.length;
  const drafts: DraftItem[] = [];
  for (let i = 0; i < value.length; i++) drafts.push(checkItem(value[i], `${path}[${i}]`, issues));
  const owners = assignKeys(drafts, value, path, issues);
  const edges = resolveDependencies(drafts, owners, path, issues);
  reportCycles(
    edges,
    drafts.map((draft) => draft.item.key ?? ''),
    path,
    issues,
  );
  return issues.length === before ? drafts.map((draft) => draft.item as ItemInput) : INVALID;
}
