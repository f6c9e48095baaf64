// Queries on change_set_items, written and updated many rows per statement.
import type { ItemUpdate, StoredItem } from '../core/item-record.js';
import type { Item, Json, OperationType, PatchOperation } from '../core/types.js';
import { json, type Queryable } from './db.js';
import { keyed, runWrites, type Write } from './statement.js';

export type { ItemUpdate, StoredItem } from '../core/item-record.js';

/** An item's row: its content, and its outcome as apply records it (ItemUpdate). */
export interface ItemRow extends ItemUpdate {
  sequence: number;
  key: string;
  operation_type: OperationType;
  target_type: string;
  target_id: string;
  after_state: Json;
  has_after_state: boolean;
  diff_data: PatchOperation[] | null;
  before_state: Json;
  has_before_state: boolean;
  base_version: number | null;
  depends_on: string[];
}

/** A stored row (or its JSON from `json_agg`) as an item. */
export function toItem(row: ItemRow): StoredItem {
  const { has_after_state, has_before_state, ...rest } = row;
  return {
    ...rest,
    after_state: has_after_state ? row.after_state : undefined,
    before_state: has_before_state ? row.before_state : undefined,
    diff_data: row.diff_data ?? undefined,
    base_version: row.base_version ?? undefined,
  };
}

/** The columns an item's view needs (Item, with the two presence flags), in the view's order. */
export const ITEM_VIEW_COLUMNS = [
  'id',
  'sequence',
  'key',
  'operation_type',
  'target_type',
  'target_id',
  'after_state',
  'has_after_state',
  'diff_data',
  'before_state',
  'has_before_state',
  'base_version',
  'depends_on',
  'status',
  'error',
  'applied_version',
] as const satisfies readonly (keyof ItemRow)[];

/** Every column the engine works with (ItemRow): the view's and what apply recorded for rollback. */
export const ITEM_COLUMNS = [
  ...ITEM_VIEW_COLUMNS,
  'previous_present',
  'previous_state',
  'previous_version',
  'applied_order',
] as const satisfies readonly (keyof ItemRow)[];

/**
 * The items of change-set `c` as one JSON array of positional arrays of `columns`, in sequence
 * order: PostgreSQL builds an array of values at about half the cost of an object with its keys,
 * which for a large change-set is most of a read's work. Decode each with `itemOfTuple`.
 */
export const itemsAggregate = (columns: readonly (keyof ItemRow)[]): string =>
  `(SELECT coalesce(json_agg(json_build_array(${columns.map((c) => `i.${c}`).join(', ')}) ORDER BY i.sequence),
      '[]'::json)
    FROM change_set_items i WHERE i.change_set = c.id)`;

/** One positional array of `itemsAggregate(columns)` as an item (columns not read stay absent). */
export function itemOfTuple(columns: readonly (keyof ItemRow)[], tuple: readonly unknown[]): StoredItem {
  const row: Record<string, unknown> = {};
  for (const [k, column] of columns.entries()) row[column] = tuple[k];
  return toItem(row as unknown as ItemRow);
}

export async function loadItems(db: Queryable, changeSet: string): Promise<StoredItem[]> {
  const { rows } = await db.query<ItemRow>('SELECT * FROM change_set_items WHERE change_set = $1 ORDER BY sequence', [
    changeSet,
  ]);
  return rows.map(toItem);
}

/** The INSERT of a change-set's items, for `runWrites`. */
export function itemsInsert(changeSet: string, items: readonly Item[]): Write | null {
  if (items.length === 0) return null;
  const records = items.map((item) => ({
    id: item.id,
    sequence: item.sequence,
    key: item.key,
    operation_type: item.operation_type,
    target_type: item.target_type,
    target_id: item.target_id,
    after_state: item.after_state ?? null,
    has_after_state: item.after_state !== undefined,
    diff_data: item.diff_data ?? null,
    before_state: item.before_state ?? null,
    has_before_state: item.before_state !== undefined,
    base_version: item.base_version ?? null,
    depends_on: item.depends_on,
  }));
  return keyed(
    () => items.map((item) => item.id),
    (p) =>
      `INSERT INTO change_set_items (id, change_set, sequence, key, operation_type, target_type, target_id, after_state,
       has_after_state, diff_data, before_state, has_before_state, base_version, depends_on)
     SELECT x.id, ${p.add(changeSet)}::uuid, x.sequence, x.key, x.operation_type, x.target_type, x.target_id,
       x.after_state, x.has_after_state, x.diff_data, x.before_state, x.has_before_state, x.base_version,
       ARRAY(SELECT jsonb_array_elements_text(x.depends_on))
     FROM jsonb_to_recordset(${p.add(json(records))}::jsonb) AS x(id uuid, sequence integer, key text,
       operation_type text, target_type text, target_id text, after_state jsonb, has_after_state boolean,
       diff_data jsonb, before_state jsonb, has_before_state boolean, base_version integer, depends_on jsonb)`,
  );
}

export async function insertItems(db: Queryable, changeSet: string, items: readonly Item[]): Promise<void> {
  await runWrites(db, [itemsInsert(changeSet, items)]);
}

export async function deleteItems(db: Queryable, changeSet: string): Promise<void> {
  await db.query('DELETE FROM change_set_items WHERE change_set = $1', [changeSet]);
}

/** The UPDATE of items' outcomes (null when there are none), for `runWrites`. */
export function itemsUpdate(updates: readonly ItemUpdate[]): Write | null {
  if (updates.length === 0) return null;
  return keyed(
    () => updates.map((update) => update.id),
    (p) =>
      `UPDATE change_set_items i SET status = x.status, error = x.error, applied_version = x.applied_version,
       previous_present = x.previous_present, previous_state = x.previous_state,
       previous_version = x.previous_version, applied_order = x.applied_order
     FROM jsonb_to_recordset(${p.add(json(updates))}::jsonb) AS x(id uuid, status text, error jsonb,
       applied_version integer, previous_present boolean, previous_state jsonb, previous_version integer,
       applied_order integer)
     WHERE i.id = x.id`,
  );
}

/** What an item is again when its change-set is reopened: pending, with no outcome. */
export const RESET_OUTCOME = {
  status: 'PENDING',
  error: null,
  applied_version: null,
  previous_present: null,
  previous_state: null,
  previous_version: null,
  applied_order: null,
} as const satisfies Omit<ItemUpdate, 'id'>;

/** Back to proposed: on reopen every item is pending again (the UPDATE, for `runWrites`). */
export function itemsReset(changeSet: string): Write {
  return (p) =>
    `UPDATE change_set_items SET status = 'PENDING', error = NULL, applied_version = NULL, previous_present = NULL,
       previous_state = NULL, previous_version = NULL, applied_order = NULL WHERE change_set = ${p.add(changeSet)}::uuid`;
}
