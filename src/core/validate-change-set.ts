// Validation of the create and edit bodies (docs/design.md#change-sets-and-items): every problem reported at once, each at
// its path, defaults filled in. Never throws, whatever the input.

import { LedgerError } from './errors.js';
import {
  CATEGORY_MESSAGE,
  CATEGORY_PATTERN,
  ID_MESSAGE,
  ID_PATTERN,
  MAX_ENTRIES,
  MAX_LENGTH,
  UUID_PATTERN,
  UUID_SHAPED_MESSAGE,
} from './input-rules.js';
import { type ChangeSetInput, PRIORITIES } from './types.js';
import {
  type Body,
  type Checked,
  checkJson,
  checkOneOf,
  checkString,
  fail,
  INVALID,
  isPlainObject,
  propertyPath,
  reportUnknownFields,
  type ValidationIssue,
  validateItems,
} from './validate-items.js';

// Re-exported for their existing importers (store/change-sets.ts, tests).
export { ID_PATTERN, UUID_PATTERN } from './input-rules.js';
export type { ValidationIssue } from './validate-items.js';

export interface Limits {
  max_items: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({ max_items: 10_000 });

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

/** What an edit asks to change, validated (the columns an update writes are store's ChangeSetPatch). */
export type ChangeSetEdit = Partial<
  Pick<
    ChangeSetInput,
    | 'title'
    | 'description'
    | 'agent_type'
    | 'category'
    | 'priority'
    | 'tags'
    | 'metadata'
    | 'approval_chain'
    | 'auto_apply'
    | 'items'
  >
>;

interface FieldRule {
  check: (value: unknown, path: string, issues: ValidationIssue[], limits: Limits) => Checked<unknown>;
  required?: boolean;
  /** The default when the field is absent (create only). */
  fallback?: () => unknown;
}

const checkId: FieldRule['check'] = (value, path, issues) =>
  checkString(value, path, issues, { pattern: ID_PATTERN, patternMessage: ID_MESSAGE });

const checkChangeSetId: FieldRule['check'] = (value, path, issues, limits) => {
  const checked = checkId(value, path, issues, limits);
  if (typeof checked === 'string' && UUID_PATTERN.test(checked)) return fail(issues, path, UUID_SHAPED_MESSAGE);
  return checked;
};

function checkStringList(maxCount: number, checkEntry: FieldRule['check']): FieldRule['check'] {
  return (value, path, issues, limits) => {
    if (!Array.isArray(value)) return fail(issues, path, 'must be an array of strings');
    if (value.length > maxCount) return fail(issues, path, `must have at most ${maxCount} entries`);
    const before = issues.length;
    for (let i = 0; i < value.length; i++) checkEntry(value[i], `${path}[${i}]`, issues, limits);
    return issues.length === before ? value : INVALID;
  };
}

function checkJsonObject(value: unknown, path: string, issues: ValidationIssue[]): Checked<unknown> {
  if (!isPlainObject(value)) return fail(issues, path, 'must be a JSON object');
  return checkJson(value, path, issues);
}

const EDITABLE_FIELDS: Readonly<Record<keyof ChangeSetEdit, FieldRule>> = {
  title: { required: true, check: (v, p, is) => checkString(v, p, is, { max: MAX_LENGTH.title, nonBlank: true }) },
  description: {
    fallback: () => null,
    check: (v, p, is) => (v === null ? null : checkString(v, p, is, { max: MAX_LENGTH.description })),
  },
  agent_type: {
    required: true,
    check: (v, p, is) => checkString(v, p, is, { max: MAX_LENGTH.agent_type, nonBlank: true }),
  },
  category: {
    fallback: () => 'GENERAL',
    check: (v, p, is) => checkString(v, p, is, { pattern: CATEGORY_PATTERN, patternMessage: CATEGORY_MESSAGE }),
  },
  priority: { fallback: () => 'NORMAL', check: (v, p, is) => checkOneOf(v, p, is, PRIORITIES) },
  tags: {
    fallback: () => [],
    check: checkStringList(MAX_ENTRIES.tags, (v, p, is) => checkString(v, p, is, { min: 1, max: MAX_LENGTH.tag })),
  },
  metadata: { fallback: () => ({}), check: checkJsonObject },
  approval_chain: { fallback: () => [], check: checkStringList(MAX_ENTRIES.approval_chain, checkId) },
  auto_apply: {
    fallback: () => false,
    check: (v, p, is) => (typeof v === 'boolean' ? v : fail(is, p, 'must be true or false')),
  },
  items: { required: true, check: (v, p, is, limits) => validateItems(v, p, limits.max_items, is) },
};

const CREATE_ONLY_FIELDS: Readonly<Record<'change_set_id' | 'agent_id', FieldRule>> = {
  change_set_id: { required: true, check: checkChangeSetId },
  agent_id: { check: checkId },
};

const CREATE_FIELDS: Readonly<Record<string, FieldRule>> = { ...CREATE_ONLY_FIELDS, ...EDITABLE_FIELDS };
const CREATE_FIELD_NAMES: ReadonlySet<string> = new Set(Object.keys(CREATE_FIELDS));

/** Checks each field of `rules` present in `body`; with `fillDefaults`, absent ones are required or defaulted. */
function checkFields(
  body: Body,
  rules: Readonly<Record<string, FieldRule>>,
  limits: Limits,
  fillDefaults: boolean,
  issues: ValidationIssue[],
): Body {
  const value: Body = {};
  for (const [field, rule] of Object.entries(rules)) {
    const raw = body[field];
    if (raw === undefined) {
      if (fillDefaults && rule.required) issues.push({ path: field, message: 'is required' });
      else if (fillDefaults && rule.fallback) value[field] = rule.fallback();
      continue;
    }
    const checked = rule.check(raw, field, issues, limits);
    if (checked !== INVALID) value[field] = checked;
  }
  return value;
}

const notAnObject = (): Validated<never> => ({ ok: false, issues: [{ path: '', message: 'must be a JSON object' }] });

export function validateCreateChangeSet(
  body: unknown,
  limits: Limits,
): Validated<ChangeSetInput & { agent_id?: string }> {
  if (!isPlainObject(body)) return notAnObject();
  const issues: ValidationIssue[] = [];
  reportUnknownFields(body, CREATE_FIELD_NAMES, '', issues);
  const value = checkFields(body, CREATE_FIELDS, limits, true, issues);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: value as unknown as ChangeSetInput & { agent_id?: string } };
}

export function validateEditChangeSet(body: unknown, limits: Limits): Validated<ChangeSetEdit> {
  if (!isPlainObject(body)) return notAnObject();
  const issues: ValidationIssue[] = [];
  for (const key of Object.keys(body)) {
    if (Object.hasOwn(CREATE_ONLY_FIELDS, key)) issues.push({ path: key, message: 'cannot be changed' });
    else if (!Object.hasOwn(EDITABLE_FIELDS, key))
      issues.push({ path: propertyPath('', key), message: 'unknown field' });
  }
  const value = checkFields(body, EDITABLE_FIELDS, limits, false, issues);
  if (issues.length > 0) return { ok: false, issues };
  if (Object.keys(value).length === 0) return { ok: false, issues: [{ path: '', message: 'nothing to change' }] };
  return { ok: true, value: value as ChangeSetEdit };
}

const ISSUES_IN_MESSAGE = 3;

/** 400 VALIDATION_FAILED naming the first few problems; `details` holds them all. */
export function validationError(issues: ValidationIssue[]): LedgerError {
  const shown = issues.slice(0, ISSUES_IN_MESSAGE).map((issue) => `${issue.path || '(body)'}: ${issue.message}`);
  const more = issues.length > ISSUES_IN_MESSAGE ? `; and ${issues.length - ISSUES_IN_MESSAGE} more` : '';
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const details = issues.map(({ path, message, allowed }) => ({ path, message, ...(allowed ? { allowed } : {}) }));
  return new LedgerError('VALIDATION_FAILED', `${count}: ${shown.join('; ')}${more}`, details);
}
