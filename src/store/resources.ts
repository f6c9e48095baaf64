// The built-in resource store: current states (locked while a change-set writes them) and history.
import type { HistoryWrite, ResourceChange, Target, TargetWrite } from '../core/item-record.js';
import type { TargetState } from '../core/item-semantics.js';
import { targetKey } from '../core/item-semantics.js';
import type { LaterWrite } from '../core/rollback-decision.js';
import type { Json } from '../core/types.js';
import { iso, json, type Queryable } from './db.js';
import { keyed, type Write } from './statement.js';

export type { HistoryWrite, ResourceChange, Target, TargetWrite } from '../core/item-record.js';
export type { LaterWrite } from '../core/rollback-decision.js';

export function distinctTargets(items: readonly Target[]): Target[] {
  const seen = new Map<string, Target>();
  for (const { target_type, target_id } of items)
    seen.set(targetKey(target_type, target_id), { target_type, target_id });
  // A fixed lock order (by type, then id) keeps concurrent writers from deadlocking.
  return [...seen.values()].sort((a, b) =>
    a.target_type === b.target_type ? compare(a.target_id, b.target_id) : compare(a.target_type, b.target_type),
  );
}
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface StateRow {
  target_type: string;
  target_id: string;
  present: boolean;
  state: Json;
  version: number;
}

const TARGETS = 'jsonb_to_recordset($1::jsonb) AS t(target_type text, target_id text)';

/**
 * Current states of the targets. With `lock`, absent targets first get a placeholder row (version 0)
 * so that every target, even one about to be created, has a row to lock; rows are locked in key order.
 */
export async function loadTargetStates(
  db: Queryable,
  targets: readonly Target[],
  options: { lock: boolean; now?: string },
): Promise<Map<string, TargetState>> {
  if (targets.length === 0) return new Map();
  const param = json(targets);
  if (options.lock) {
    await db.query(
      `INSERT INTO resources (target_type, target_id, present, state, version, updated_at)
       SELECT t.target_type, t.target_id, false, NULL, 0, $2 FROM ${TARGETS}
       ORDER BY t.target_type, t.target_id ON CONFLICT DO NOTHING`,
      [param, options.now],
    );
  }
  const { rows } = await db.query<StateRow>(
    `SELECT r.target_type, r.target_id, r.present, r.state, r.version FROM resources r
     JOIN ${TARGETS} ON r.target_type = t.target_type AND r.target_id = t.target_id
     ORDER BY r.target_type, r.target_id${options.lock ? ' FOR UPDATE OF r' : ''}`,
    [param],
  );
  return statesOf(rows);
}

function statesOf(rows: readonly StateRow[]): Map<string, TargetState> {
  const states = new Map<string, TargetState>();
  for (const row of rows) {
    states.set(targetKey(row.target_type, row.target_id), {
      present: row.present,
      state: row.state,
      version: row.version,
    });
  }
  return states;
}

/**
 * A subquery of change-set `c`: the current states of its items' targets (those with a row in
 * resources), unlocked, as a JSON array of [target_type, target_id, present, state, version].
 * Read with the change-set, they are of its snapshot; `itemTargetStates` turns them into
 * `loadTargetStates`' map.
 */
export const ITEM_TARGET_STATES = `(SELECT coalesce(json_agg(json_build_array(r.target_type, r.target_id,
    r.present, r.state, r.version)), '[]'::json)
  FROM resources r
  WHERE (r.target_type, r.target_id) IN (SELECT i.target_type, i.target_id FROM change_set_items i
    WHERE i.change_set = c.id))`;

export function itemTargetStates(tuples: readonly (readonly [string, string, boolean, Json, number])[]) {
  return statesOf(
    tuples.map(([target_type, target_id, present, state, version]) => ({
      target_type,
      target_id,
      present,
      state,
      version,
    })),
  );
}

/** First recorded state of each target, for RESET without an after_state. */
export async function loadFirstStates(db: Queryable, targets: readonly Target[]): Promise<Map<string, Json>> {
  const result = new Map<string, Json>();
  if (targets.length === 0) return result;
  const { rows } = await db.query<{ target_type: string; target_id: string; state: Json }>(
    `SELECT DISTINCT ON (h.target_type, h.target_id) h.target_type, h.target_id, h.state
     FROM resource_history h JOIN ${TARGETS} ON h.target_type = t.target_type AND h.target_id = t.target_id
     WHERE h.present ORDER BY h.target_type, h.target_id, h.version`,
    [json(targets)],
  );
  for (const row of rows) result.set(targetKey(row.target_type, row.target_id), row.state);
  return result;
}

/** A resource row's key, as the statement checks compare them (store/statement.ts). */
const targetRow = (target: Target): [string, string] => [target.target_type, target.target_id];

export interface TargetWrites {
  states: readonly TargetWrite[];
  history: readonly HistoryWrite[];
  /** Placeholders (version 0) nobody wrote, to drop. */
  unused: readonly Target[];
}

/**
 * The writes of final states, one history row per version, and the drop of unused placeholders,
 * for `runWrites` (the three touch different rows: written targets are never unused).
 */
export function targetWrites(writes: TargetWrites, context: { changeSet: string; actor: string; at: string }): Write[] {
  const out: Write[] = [];
  if (writes.states.length > 0) {
    out.push(
      keyed(
        () => writes.states.map(targetRow),
        (p) =>
          `UPDATE resources r SET present = x.present, state = x.state, version = x.version,
           updated_at = ${p.add(context.at)}::timestamptz, change_set = ${p.add(context.changeSet)}::uuid
         FROM jsonb_to_recordset(${p.add(json(writes.states))}::jsonb) AS x(target_type text, target_id text,
           present boolean, state jsonb, version integer)
         WHERE r.target_type = x.target_type AND r.target_id = x.target_id`,
      ),
    );
  }
  const history = historyInsert(writes.history, context);
  if (history) out.push(history);
  if (writes.unused.length > 0) {
    out.push(
      keyed(
        () => writes.unused.map(targetRow),
        (p) =>
          `DELETE FROM resources r USING jsonb_to_recordset(${p.add(json(writes.unused))}::jsonb)
           AS t(target_type text, target_id text)
         WHERE r.target_type = t.target_type AND r.target_id = t.target_id AND r.version = 0`,
      ),
    );
  }
  return out;
}

/**
 * Optimistic writes of final states (no placeholders, no locks taken beforehand): a target is
 * written only if it is still at the version that was read (`expected`), an absent one (0) only if
 * it is still absent. Each write returns one row per target written, for the statement's guard.
 */
export function guardedStateWrites(
  states: readonly (TargetWrite & { expected: number })[],
  context: { changeSet: string; at: string },
): Write[] {
  const existing = states.filter((s) => s.expected > 0);
  const absent = states.filter((s) => s.expected === 0);
  const out: Write[] = [];
  if (existing.length > 0) {
    out.push(
      keyed(
        () => existing.map(targetRow),
        (p) =>
          `UPDATE resources r SET present = x.present, state = x.state, version = x.version,
           updated_at = ${p.add(context.at)}::timestamptz, change_set = ${p.add(context.changeSet)}::uuid
         FROM jsonb_to_recordset(${p.add(json(existing))}::jsonb) AS x(target_type text, target_id text,
           present boolean, state jsonb, version integer, expected integer)
         WHERE r.target_type = x.target_type AND r.target_id = x.target_id AND r.version = x.expected
         RETURNING 1`,
      ),
    );
  }
  if (absent.length > 0) {
    out.push(
      keyed(
        () => absent.map(targetRow),
        (p) =>
          `INSERT INTO resources (target_type, target_id, present, state, version, updated_at, change_set)
         SELECT x.target_type, x.target_id, x.present, x.state, x.version, ${p.add(context.at)}::timestamptz,
           ${p.add(context.changeSet)}::uuid
         FROM jsonb_to_recordset(${p.add(json(absent))}::jsonb) AS x(target_type text, target_id text,
           present boolean, state jsonb, version integer)
         ORDER BY x.target_type, x.target_id
         ON CONFLICT DO NOTHING RETURNING 1`,
      ),
    );
  }
  return out;
}

/** The INSERT of history rows (null when there are none), for `runWrites`. */
export function historyInsert(
  history: readonly HistoryWrite[],
  context: { changeSet: string; actor: string; at: string },
): Write | null {
  if (history.length === 0) return null;
  return keyed(
    () => history.map((h) => [h.target_type, h.target_id, h.version]),
    (p) =>
      `INSERT INTO resource_history (target_type, target_id, version, present, state, operation, change_set, item,
       actor, at)
     SELECT x.target_type, x.target_id, x.version, x.present, x.state, x.operation,
       ${p.add(context.changeSet)}::uuid, x.item, ${p.add(context.actor)}::text, ${p.add(context.at)}::timestamptz
     FROM jsonb_to_recordset(${p.add(json(history))}::jsonb) AS x(target_type text, target_id text,
       version integer, present boolean, state jsonb, operation text, item uuid)`,
  );
}

/**
 * The writes to each target after the given version by change-sets other than `exclude`, oldest
 * first: what a rollback of `exclude` would erase.
 */
export async function laterWrites(
  db: Queryable,
  targets: readonly (Target & { after_version: number })[],
  exclude: string,
): Promise<Map<string, LaterWrite[]>> {
  const { rows } = await db.query<{ target_type: string; target_id: string } & LaterWrite>(
    `SELECT h.target_type, h.target_id, h.version, c.change_set_id AS change_set, h.present, h.state
     FROM resource_history h
     JOIN jsonb_to_recordset($1::jsonb) AS t(target_type text, target_id text, after_version integer)
       ON h.target_type = t.target_type AND h.target_id = t.target_id AND h.version > t.after_version
     JOIN change_sets c ON c.id = h.change_set
     WHERE h.change_set <> $2 ORDER BY h.target_type, h.target_id, h.version`,
    [json(targets), exclude],
  );
  const result = new Map<string, LaterWrite[]>();
  for (const { target_type, target_id, ...write } of rows) {
    const key = targetKey(target_type, target_id);
    result.set(key, [...(result.get(key) ?? []), write]);
  }
  return result;
}

export interface ResourceView {
  target_type: string;
  target_id: string;
  present: boolean;
  state: Json;
  version: number;
  updated_at: string;
  change_set: string | null;
}

export async function getResource(db: Queryable, target: Target): Promise<ResourceView | null> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT r.target_type, r.target_id, r.present, r.state, r.version, r.updated_at, c.change_set_id AS change_set
     FROM resources r LEFT JOIN change_sets c ON c.id = r.change_set
     WHERE r.target_type = $1 AND r.target_id = $2 AND r.present`,
    [target.target_type, target.target_id],
  );
  const row = rows[0];
  return row ? ({ ...row, updated_at: iso(row['updated_at']) } as unknown as ResourceView) : null;
}

export interface HistoryView {
  version: number;
  present: boolean;
  state: Json;
  operation: string;
  change_set: string;
  change_set_uuid: string;
  item: string | null;
  actor: string;
  at: string;
}

export async function getHistory(db: Queryable, target: Target): Promise<HistoryView[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT h.version, h.present, h.state, h.operation, c.change_set_id AS change_set, h.change_set AS change_set_uuid,
            h.item, h.actor, h.at
     FROM resource_history h JOIN change_sets c ON c.id = h.change_set
     WHERE h.target_type = $1 AND h.target_id = $2 ORDER BY h.version`,
    [target.target_type, target.target_id],
  );
  return rows.map((row) => ({ ...row, at: iso(row['at']) }) as unknown as HistoryView);
}

/** Present resources in key order, optionally of one type or under an id prefix, after a cursor. */
export async function listResources(
  db: Queryable,
  filter: { target_type?: string | undefined; prefix?: string | undefined; after?: Target | undefined; limit: number },
): Promise<ResourceView[]> {
  const prefix = filter.prefix ? `${filter.prefix.replace(/[\\%_]/g, (m) => `\\${m}`)}%` : null;
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT r.target_type, r.target_id, r.present, r.state, r.version, r.updated_at, c.change_set_id AS change_set
     FROM resources r LEFT JOIN change_sets c ON c.id = r.change_set
     WHERE r.present AND ($1::text IS NULL OR r.target_type = $1) AND ($2::text IS NULL OR r.target_id LIKE $2)
       AND ($3::text IS NULL OR (r.target_type, r.target_id) > ($3, $4))
     ORDER BY r.target_type, r.target_id LIMIT $5`,
    [
      filter.target_type ?? null,
      prefix,
      filter.after?.target_type ?? null,
      filter.after?.target_id ?? null,
      filter.limit,
    ],
  );
  return rows.map((row) => ({ ...row, updated_at: iso(row['updated_at']) }) as unknown as ResourceView);
}

/**
 * The resource writes of the given commits (apply and rollback events), in commit order and, within
 * one commit, in key order; only targets of one type or under an id prefix when asked. A commit's
 * history rows carry its change-set and the same instant as its event (one clock reading per action),
 * and a rollback's rows the operation `ROLLBACK`, which tells them from an apply at the same instant.
 */
export async function changesOfCommits(
  db: Queryable,
  commits: readonly { ledger_version: number; change_set: string; at: string; rollback: boolean }[],
  filter: { target_type?: string | undefined; prefix?: string | undefined },
): Promise<ResourceChange[]> {
  if (commits.length === 0) return [];
  const prefix = filter.prefix ? `${filter.prefix.replace(/[\\%_]/g, (m) => `\\${m}`)}%` : null;
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT e.ledger_version, h.target_type, h.target_id, h.version, h.present, h.state, h.operation,
            h.change_set AS change_set_uuid, c.change_set_id, h.item, h.actor, h.at
     FROM jsonb_to_recordset($1::jsonb) AS e(ledger_version bigint, change_set uuid, at timestamptz, rollback boolean)
     JOIN resource_history h ON h.change_set = e.change_set AND h.at = e.at AND (h.operation = 'ROLLBACK') = e.rollback
     JOIN change_sets c ON c.id = h.change_set
     WHERE ($2::text IS NULL OR h.target_type = $2) AND ($3::text IS NULL OR h.target_id LIKE $3)
     ORDER BY e.ledger_version, h.target_type, h.target_id, h.version`,
    [json(commits), filter.target_type ?? null, prefix],
  );
  return rows.map(({ change_set_uuid, change_set_id, at, ledger_version, ...row }) => ({
    ...(row as Omit<ResourceChange, 'ledger_version' | 'change_set' | 'at'>),
    ledger_version: Number(ledger_version),
    change_set: { id: String(change_set_uuid), change_set_id: String(change_set_id) },
    at: iso(at),
  }));
}
