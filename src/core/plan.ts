// The dry-run plan (docs/design.md#apply-modes: DRY_RUN and GET …/plan): what applying the change-set would do now.

import { createPatch } from 'rfc6902';
import { defined } from './defined.js';
import { orderItems } from './item-order.js';
import { type ItemOutcome, simulateItems, type TargetState, targetKey } from './item-semantics.js';
import type { Item, ItemError, Json, PatchOperation, ResourceState } from './types.js';

export interface PlanState {
  present: boolean;
  version: number;
  state: Json | null;
}

export const PLAN_ITEM_STATUSES = ['WOULD_APPLY', 'WOULD_FAIL', 'WOULD_SKIP', 'APPLIED'] as const;

export interface PlanItem {
  item_id: string;
  key: string;
  sequence: number;
  operation_type: string;
  target_type: string;
  target_id: string;
  status: (typeof PLAN_ITEM_STATUSES)[number];
  current: PlanState;
  result: PlanState | null;
  diff: PatchOperation[];
  error: ItemError | null;
}

export interface Plan {
  items: PlanItem[];
  would_succeed: boolean;
}

const STATUS_BY_OUTCOME = { APPLIED: 'WOULD_APPLY', FAILED: 'WOULD_FAIL', SKIPPED: 'WOULD_SKIP' } as const;

const toPlanState = (resource: ResourceState): PlanState => ({
  present: resource.present,
  version: resource.version,
  state: resource.present ? resource.state : null,
});

const describe = (item: Item) => ({
  item_id: item.id,
  key: item.key,
  sequence: item.sequence,
  operation_type: item.operation_type,
  target_type: item.target_type,
  target_id: item.target_id,
});

function plannedItem(item: Item, outcome: ItemOutcome): PlanItem {
  const current = toPlanState(outcome.from);
  if (outcome.status !== 'APPLIED') {
    return {
      ...describe(item),
      status: STATUS_BY_OUTCOME[outcome.status],
      current,
      result: null,
      diff: [],
      error: outcome.error,
    };
  }
  const result = toPlanState(outcome.to);
  const diff = createPatch(current.state, result.state) as PatchOperation[];
  return { ...describe(item), status: 'WOULD_APPLY', current, result, diff, error: null };
}

function appliedItem(item: Item, resources: ReadonlyMap<string, TargetState>): PlanItem {
  const resource = resources.get(targetKey(item.target_type, item.target_id));
  const current = resource ? toPlanState(resource) : { present: false, version: 0, state: null };
  return { ...describe(item), status: 'APPLIED', current, result: null, diff: [], error: null };
}

/**
 * Simulates the items not yet applied against `resources`. Items already APPLIED (a partially
 * applied change-set) come first, as they are; the rest follow in application order.
 */
export function planItems(items: readonly Item[], resources: ReadonlyMap<string, TargetState>): Plan {
  const applied = orderItems(items.filter((item) => item.status === 'APPLIED'));
  const appliedKeys = new Set(applied.map((item) => item.key));
  const simulation = simulateItems(items, resources, appliedKeys);
  const byKey = new Map(items.map((item) => [item.key, item]));
  const planned = simulation.order.map((key) =>
    plannedItem(defined(byKey.get(key), `item ${key}`), defined(simulation.outcomes.get(key), `outcome of ${key}`)),
  );
  return {
    items: [...applied.map((item) => appliedItem(item, resources)), ...planned],
    would_succeed: planned.every((item) => item.status === 'WOULD_APPLY'),
  };
}
