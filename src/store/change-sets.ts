// Queries on change_sets. Rows map to the domain's snake_case shape with ISO timestamps.
import type { ApprovalStep, Json, PolicyEvaluation, Priority, RiskAssessment, Status } from '../core/types.js';
import { iso, json, type Queryable } from './db.js';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `:id` is either the internal UUID or the human change_set_id. */
function byReference(reference: string): { clause: string; params: unknown[] } {
  if (UUID.test(reference)) return { clause: '(id = $1::uuid OR change_set_id = $2)', params: [reference, reference] };
  return { clause: 'change_set_id = $1', params: [reference] };
}

export async function findChangeSet(db: Queryable, reference: string, lock = false): Promise<ChangeSetRow | null> {
  const { clause, params } = byReference(reference);
  const { rows } = await db.query(`SELECT * FROM change_sets WHERE ${clause}${lock ? ' FOR UPDATE' : ''}`, params);
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

export async function insertChangeSet(db: Queryable, row: ChangeSetRow): Promise<void> {
  const values = INSERT_COLUMNS.map((column, i) => `$${i + 1}${cast(column)}`);
  await db.query(
    `INSERT INTO change_sets (${INSERT_COLUMNS.join(', ')}) VALUES (${values.join(', ')})`,
    INSERT_COLUMNS.map((column) => param(column, row[column])),
  );
}

export type ChangeSetPatch = Partial<
  Omit<ChangeSetRow, 'id' | 'change_set_id' | 'created_at' | 'created_by' | 'version'>
>;
const UPDATABLE = new Set<string>(
  INSERT_COLUMNS.filter((c) => !['id', 'change_set_id', 'created_at', 'created_by', 'version'].includes(c)),
);
UPDATABLE.add('rolled_back_at');
UPDATABLE.add('rolled_back_by');

/** Writes the given columns and bumps `version`; column names come from a fixed list, values are parameters. */
export async function updateChangeSet(db: Queryable, id: string, patch: ChangeSetPatch): Promise<number> {
  const entries = Object.entries(patch).filter(([column, value]) => UPDATABLE.has(column) && value !== undefined);
  const sets = entries.map(([column], i) => `${column} = $${i + 2}${cast(column)}`);
  const { rows } = await db.query<{ version: number }>(
    `UPDATE change_sets SET ${[...sets, 'version = version + 1'].join(', ')} WHERE id = $1 RETURNING version`,
    [id, ...entries.map(([column, value]) => param(column, value))],
  );
  return rows[0]!.version;
}
