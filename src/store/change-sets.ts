// Queries on change_sets. Rows map to the domain's snake_case shape with ISO timestamps.
import {
  CHANGE_SET_COLUMNS,
  CHANGE_SET_FIXED_FIELDS,
  type ChangeSetFieldsRow,
  JSONB_COLUMNS,
  TIMESTAMP_COLUMNS,
} from '../core/change-set-shape.js';
import { UUID_PATTERN } from '../core/validate-change-set.js';
import { iso, json, type Queryable } from './db.js';
import { keyed, type Write } from './statement.js';

/** A row of change_sets as the engine works with it (columns declared in core/change-set-shape.ts). */
export interface ChangeSetRow extends ChangeSetFieldsRow {}

export function toChangeSetRow(raw: Record<string, unknown>): ChangeSetRow {
  const row = { ...raw } as Record<string, unknown>;
  for (const column of TIMESTAMP_COLUMNS) row[column] = iso(raw[column], true);
  return row as unknown as ChangeSetRow;
}

/**
 * `:id` is either the internal UUID or the human change_set_id, never both: a reference shaped like
 * a UUID means the internal id only, anything else the change_set_id only. No change_set_id has that
 * shape (refused at create; migration 0006 renamed older ones and forbids it in the table), so at
 * most one row answers and no change-set can stand in for another.
 */
export function byReference(reference: string, qualifier = ''): { clause: string; params: unknown[] } {
  const q = qualifier;
  if (UUID_PATTERN.test(reference)) return { clause: `${q}id = $1::uuid`, params: [reference] };
  return { clause: `${q}change_set_id = $1`, params: [reference] };
}

export async function findChangeSet(db: Queryable, reference: string): Promise<ChangeSetRow | null> {
  const { clause, params } = byReference(reference);
  const { rows } = await db.query(`SELECT * FROM change_sets WHERE ${clause}`, params);
  return rows[0] ? toChangeSetRow(rows[0]) : null;
}

const JSON_COLUMNS = new Set<string>(JSONB_COLUMNS);
const cast = (column: string): string => (JSON_COLUMNS.has(column) ? '::jsonb' : '');
const param = (column: string, value: unknown): unknown => (JSON_COLUMNS.has(column) ? json(value) : value);

/** The INSERT of a new change-set row, for `runWrites`. */
export function changeSetInsert(row: ChangeSetRow): Write {
  return keyed(
    () => [row.id],
    (p) => {
      const values = CHANGE_SET_COLUMNS.map((column) => `${p.add(param(column, row[column]))}${cast(column)}`);
      return `INSERT INTO change_sets (${CHANGE_SET_COLUMNS.join(', ')}) VALUES (${values.join(', ')})`;
    },
  );
}

export type ChangeSetPatch = Partial<Omit<ChangeSetRow, (typeof CHANGE_SET_FIXED_FIELDS)[number]>>;
const FIXED = new Set<string>(CHANGE_SET_FIXED_FIELDS);
const UPDATABLE = new Set<string>(CHANGE_SET_COLUMNS.filter((column) => !FIXED.has(column)));

/**
 * The UPDATE that writes the given columns and bumps `version`, returning it, for `runWrites`.
 * Column names come from a fixed list, values are parameters. `newRound` also clears the approval
 * round's notice flags (a submit starts a round that is reminded, escalated and expired afresh);
 * `expectVersion` updates only that version (no row is returned when the version moved on).
 */
export function changeSetUpdate(
  id: string,
  patch: ChangeSetPatch,
  options: { newRound?: boolean; expectVersion?: number } = {},
): Write {
  const entries = Object.entries(patch).filter(([column, value]) => UPDATABLE.has(column) && value !== undefined);
  return keyed(
    () => [id],
    (p) => {
      let where = `id = ${p.add(id)}::uuid`;
      if (options.expectVersion !== undefined) where += ` AND version = ${p.add(options.expectVersion)}::integer`;
      const sets = entries.map(([column, value]) => `${column} = ${p.add(param(column, value))}${cast(column)}`);
      if (options.newRound) sets.push('reminded_at = NULL', 'escalated_at = NULL', 'expired_at = NULL');
      return `UPDATE change_sets SET ${[...sets, 'version = version + 1'].join(', ')} WHERE ${where} RETURNING version`;
    },
  );
}
