// The recorded change-sets replay reads (engine/replay.ts): created since a moment, in creation
// order, a page at a time with their items, so a long history is never held whole.
import { type ChangeSetRow, toChangeSetRow } from './change-sets.js';
import type { Queryable } from './db.js';
import { ITEM_VIEW_COLUMNS, itemOfTuple, itemsAggregate, type StoredItem } from './items.js';

export interface HistoryEntry {
  row: ChangeSetRow;
  items: StoredItem[];
  /** Where a page ending here ends. */
  cursor: HistoryCursor;
}

/** Where the previous page ended: its last row's creation time (as the database wrote it, to the microsecond) and id. */
export interface HistoryCursor {
  at: string;
  id: string;
}

const ITEMS = itemsAggregate(ITEM_VIEW_COLUMNS);

export async function readHistoryPage(
  db: Queryable,
  since: string,
  after: HistoryCursor | null,
  limit: number,
): Promise<HistoryEntry[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT c.*, c.created_at::text AS history_at, ${ITEMS} AS history_items FROM change_sets c
     WHERE c.created_at >= $1::timestamptz
       AND ($2::timestamptz IS NULL OR (c.created_at, c.id) > ($2::timestamptz, $3::uuid))
     ORDER BY c.created_at, c.id LIMIT $4`,
    [since, after?.at ?? null, after?.id ?? null, limit],
  );
  return rows.map(({ history_items, history_at, ...row }) => ({
    row: toChangeSetRow(row),
    cursor: { at: String(history_at), id: String(row['id']) },
    items: (history_items as unknown[][]).map((tuple) => itemOfTuple(ITEM_VIEW_COLUMNS, tuple)),
  }));
}
