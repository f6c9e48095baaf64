// What apply records about items and targets, as plain data: the decisions of apply and rollback
// (core/apply-decision.ts, core/rollback-decision.ts) work on these, the store reads and writes them.
import type { Item, ItemError, ItemStatus, Json } from './types.js';

/** An item with what apply recorded about the target before it wrote, for rollback. */
export interface StoredItem extends Item {
  previous_present: boolean | null;
  previous_state: Json | null;
  previous_version: number | null;
  applied_order: number | null;
}

/** An item's outcome as written: its status and what apply recorded. */
export interface ItemUpdate {
  id: string;
  status: ItemStatus;
  error: ItemError | null;
  applied_version: number | null;
  previous_present: boolean | null;
  previous_state: Json | null;
  previous_version: number | null;
  applied_order: number | null;
}

export interface Target {
  target_type: string;
  target_id: string;
}

/** A target's final state, as written. */
export interface TargetWrite extends Target {
  present: boolean;
  state: Json;
  version: number;
}

/** One version of a target, as its history records it. */
export interface HistoryWrite extends TargetWrite {
  operation: string;
  item: string | null;
}

/** Why an item did not apply, as apply answers it and journals it (a type: it is JSON). */
export type ItemErrorReport = {
  item_id: string;
  key: string;
  code: string;
  message: string;
};

/** One committed write of a resource, as the resource watch streams it (and resource sync reads it). */
export interface ResourceChange {
  /** The ledger position of the commit that wrote it: the id of its `changeset.applied` or `changeset.rolled_back` event. */
  ledger_version: number;
  target_type: string;
  target_id: string;
  version: number;
  present: boolean;
  state: Json;
  operation: string;
  change_set: { id: string; change_set_id: string };
  item: string | null;
  actor: string;
  at: string;
}
