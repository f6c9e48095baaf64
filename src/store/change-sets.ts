// Queries on change_sets. Rows map to the domain's snake_case shape with ISO timestamps.
import type { ApprovalStep, Json, PolicyEvaluation, Priority, RiskAssessment, Status } from '../core/types.js';
import { UUID_PATTERN } from '../core/validate-change-set.js';
import { iso, json, type Queryable } from './db.js';
import type { Write } from './statement.js';

export interface ChangeSetRow {
  id: string;
  change_set_id: string;
  title: string;
  description: string | null;
  agent_id: string;
  agent_type: string;
  category: string;
  priority: Priority;
  tags: string[];
  metadata: { [key: string]: Json };
  approval_chain: string[];
  auto_apply: boolean;
  status: Status;
  risk: RiskAssessment;
  approval_steps: ApprovalStep[];
  required_approvals: number;
  received_approvals: number;
  approval_deadline: string | null;
  policy_evaluations: PolicyEvaluation[];
  content_hash: string;
  item_count: number;
  version: number;
  audit_head: string;
  audit_count: number;
  /** The head's signature (engine/audit-signer.ts), null when unsigned. */
  audit_sig: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  submitted_at: string | null;
  applied_at: string | null;
  applied_by: string | null;
  rolled_back_at: string | null;
  rolled_back_by: string | null;
}

const TIMESTAMPS = [
  'approval_deadline',
  'created_at',
  'updated_at',
  'submitted_at',
  'applied_at',
  'rolled_back_at',
] as const;

export function toChangeSetRow(raw: Record<string, unknown>): ChangeSetRow {
  const row = { ...raw } as Record<string, unknown>;
  for (const column of TIMESTAMPS) row[column] = iso(raw[column], true);
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

const INSERT_COLUMNS = [
  'id',
  'change_set_id',
  'title',
  'description',
  'agent_id',
  'agent_type',
  'category',
  'priority',
  'tags',
  'metadata',
  'approval_chain',
  'auto_apply',
  'status',
  'risk',
  'approval_steps',
  'required_approvals',
  'received_approvals',
  'approval_deadline',
  'policy_evaluations',
  'content_hash',
  'item_count',
  'version',
  'audit_head',
  'audit_count',
  'audit_sig',
  'created_at',
  'created_by',
  'updated_at',
  'updated_by',
  'submitted_at',
  'applied_at',
  'applied_by',
] as const;
const JSON_COLUMNS = new Set(['metadata', 'risk', 'approval_steps', 'policy_evaluations']);
const cast = (column: string): string => (JSON_COLUMNS.has(column) ? '::jsonb' : '');
const param = (column: string, value: unknown): unknown => (JSON_COLUMNS.has(column) ? json(value) : value);

/** The INSERT of a new change-set row, for `runWrites`. */
export function changeSetInsert(row: ChangeSetRow): Write {
  return (p) => {
    const values = INSERT_COLUMNS.map((column) => `${p.add(param(column, row[column]))}${cast(column)}`);
    return `INSERT INTO change_sets (${INSERT_COLUMNS.join(', ')}) VALUES (${values.join(', ')})`;
  };
}

export type ChangeSetPatch = Partial<
  Omit<ChangeSetRow, 'id' | 'change_set_id' | 'created_at' | 'created_by' | 'version'>
>;
const UPDATABLE = new Set<string>(
  INSERT_COLUMNS.filter((c) => !['id', 'change_set_id', 'created_at', 'created_by', 'version'].includes(c)),
);
UPDATABLE.add('rolled_back_at');
UPDATABLE.add('rolled_back_by');

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
  return (p) => {
    let where = `id = ${p.add(id)}::uuid`;
    if (options.expectVersion !== undefined) where += ` AND version = ${p.add(options.expectVersion)}::integer`;
    const sets = entries.map(([column, value]) => `${column} = ${p.add(param(column, value))}${cast(column)}`);
    if (options.newRound) sets.push('reminded_at = NULL', 'escalated_at = NULL', 'expired_at = NULL');
    return `UPDATE change_sets SET ${[...sets, 'version = version + 1'].join(', ')} WHERE ${where} RETURNING version`;
  };
}
