// What one item does to one target of the resource store (docs/design.md#item-operations), and what a whole
// change-set would do, simulated in application order without touching any storage.

import { applyPatch, type Operation } from 'rfc6902';
import { orderItems } from './item-order.js';
import { deepEqual } from './json-equal.js';
import type { Item, ItemError, ItemInput, Json, PatchOperation, ResourceState } from './types.js';

/** Map key of a target; NUL cannot appear in validated strings, so keys never collide. */
export const targetKey = (target_type: string, target_id: string): string => `${target_type}\u0000${target_id}`;

/** A target's current state plus its first recorded state in history (undefined = unknown or none). */
export interface TargetState extends ResourceState {
  first_state?: Json | undefined;
}

export type ItemOutcome =
  | { status: 'APPLIED'; from: ResourceState; to: ResourceState }
  | { status: 'FAILED'; from: ResourceState; error: ItemError }
  | { status: 'SKIPPED'; from: ResourceState; error: ItemError };

export type ItemResult = { ok: true; next: ResourceState } | { ok: false; error: ItemError };

export interface Simulation {
  /** One outcome per simulated item, by item key. */
  outcomes: Map<string, ItemOutcome>;
  /** Item keys in application order. */
  order: string[];
  /** Final state of every target, by targetKey. */
  states: Map<string, TargetState>;
}

const ABSENT: TargetState = Object.freeze({ present: false, state: null, version: 0 });

const label = (item: ItemInput): string => `${item.target_type}/${item.target_id}`;
const fail = (code: string, message: string): ItemResult => ({ ok: false, error: { code, message } });
const succeed = (from: ResourceState, state: Json, present = true): ItemResult => ({
  ok: true,
  next: { present, state, version: from.version + 1 },
});

/** Drift checks: the target must still be where the proposing agent saw it. */
function checkPreconditions(item: ItemInput, current: ResourceState): ItemError | null {
  if (item.base_version !== undefined && current.version !== item.base_version) {
    const message = `target ${label(item)} is at version ${current.version}, the change-set expected ${item.base_version}`;
    return { code: 'CONFLICT', message };
  }
  if (item.before_state !== undefined) {
    if (!current.present) {
      return {
        code: 'CONFLICT',
        message: `target ${label(item)} does not exist, the change-set expected a before_state`,
      };
    }
    if (!deepEqual(current.state, item.before_state)) {
      return { code: 'CONFLICT', message: `current state of ${label(item)} differs from before_state` };
    }
  }
  return null;
}

// rfc6902 cannot replace the document root in place, so patches run against a wrapper object.
const wrapPointer = (pointer: string): string =>
  pointer === '' || pointer.startsWith('/') ? `/root${pointer}` : pointer;

function describePatchError(error: Error): string {
  switch (error.name) {
    case 'MissingError':
      return 'no value at that path';
    case 'TestError':
      return 'the value differs from the expected value';
    case 'InvalidOperationError':
      return 'invalid operation';
    default:
      return error.message;
  }
}

/** Applies `patch` to a clone of `state`; the first failing op is reported by index and path. */
function patchState(
  state: Json,
  patch: readonly PatchOperation[],
): { ok: true; state: Json } | { ok: false; message: string } {
  const doc: { root?: Json } = { root: structuredClone(state) };
  for (const [index, op] of patch.entries()) {
    const wrapped = {
      ...op,
      path: wrapPointer(op.path),
      ...(op.from === undefined ? {} : { from: wrapPointer(op.from) }),
    };
    let error: Error | null;
    try {
      error = applyPatch(doc, [wrapped as Operation])[0] ?? null;
    } catch (thrown) {
      error = thrown instanceof Error ? thrown : new Error(String(thrown));
    }
    if (error)
      return {
        ok: false,
        message: `patch op ${index} (${op.op} at "${op.path}") failed: ${describePatchError(error)}`,
      };
  }
  if (doc.root === undefined) return { ok: false, message: 'the patch removes the whole document' };
  return { ok: true, state: doc.root };
}

function applyUpdate(item: ItemInput, current: ResourceState): ItemResult {
  if (item.diff_data === undefined) {
    if (item.after_state === undefined)
      return fail('INVALID_ITEM', `UPDATE of ${label(item)} has neither diff_data nor after_state`);
    return succeed(current, structuredClone(item.after_state));
  }
  const patched = patchState(current.state, item.diff_data);
  if (!patched.ok) return fail('PATCH_FAILED', `cannot patch ${label(item)}: ${patched.message}`);
  if (item.after_state !== undefined && !deepEqual(patched.state, item.after_state)) {
    return fail('PATCH_MISMATCH', `patching ${label(item)} with diff_data does not produce after_state`);
  }
  return succeed(current, patched.state);
}

function emptyLike(state: Json): Json {
  if (Array.isArray(state)) return [];
  if (state !== null && typeof state === 'object') return {};
  return typeof state === 'string' ? '' : null;
}

function applyReset(item: ItemInput, current: TargetState): ItemResult {
  const target = item.after_state !== undefined ? item.after_state : current.first_state;
  if (target === undefined) return fail('NO_INITIAL_STATE', `no first recorded state of ${label(item)} to reset to`);
  return succeed(current, structuredClone(target));
}

/** The effect of one item on its target's current state; never mutates its arguments. */
export function applyItem(item: ItemInput, current: TargetState): ItemResult {
  const drift = checkPreconditions(item, current);
  if (drift) return { ok: false, error: drift };
  if (item.operation_type === 'CREATE') {
    if (current.present) return fail('CONFLICT', `target ${label(item)} already exists (version ${current.version})`);
    return succeed(current, structuredClone(item.after_state ?? null));
  }
  if (!current.present) return fail('NOT_FOUND', `target ${label(item)} does not exist`);
  switch (item.operation_type) {
    case 'UPDATE':
      return applyUpdate(item, current);
    case 'DELETE':
      return succeed(current, null, false);
    case 'RESET':
      return applyReset(item, current);
    case 'CLEAR':
      return succeed(current, emptyLike(current.state));
    default:
      return fail('INVALID_ITEM', `unknown operation ${String(item.operation_type)}`);
  }
}

const plain = ({ present, state, version }: ResourceState): ResourceState => ({ present, state, version });

/** The first dependency of `item` that did not apply, as a SKIPPED error. */
function blockedBy(item: Item, outcomes: ReadonlyMap<string, ItemOutcome>): ItemError | null {
  for (const dep of item.depends_on) {
    const outcome = outcomes.get(dep);
    if (outcome && outcome.status !== 'APPLIED') {
      const what = outcome.status === 'FAILED' ? 'failed' : 'was skipped';
      return { code: 'DEPENDENCY_FAILED', message: `depends on item ${dep}, which ${what}` };
    }
  }
  return null;
}

/**
 * Walks the items in application order against a working copy of the targets, so each item
 * sees what earlier items did. Items in `alreadyApplied` are left out and satisfy dependencies.
 */
export function simulateItems(
  items: readonly Item[],
  resources: ReadonlyMap<string, TargetState>,
  alreadyApplied: ReadonlySet<string> = new Set(),
): Simulation {
  const states = new Map(resources);
  const outcomes = new Map<string, ItemOutcome>();
  const order = orderItems(items.filter((item) => !alreadyApplied.has(item.key)));
  for (const item of order) {
    const key = targetKey(item.target_type, item.target_id);
    const current = states.get(key) ?? ABSENT;
    const blocked = blockedBy(item, outcomes);
    if (blocked) {
      outcomes.set(item.key, { status: 'SKIPPED', from: plain(current), error: blocked });
      continue;
    }
    const result = applyItem(item, current);
    if (!result.ok) {
      outcomes.set(item.key, { status: 'FAILED', from: plain(current), error: result.error });
      continue;
    }
    // A target created from nothing gets its first recorded state right here.
    const first_state = current.version === 0 && result.next.present ? result.next.state : current.first_state;
    states.set(key, { ...result.next, first_state });
    outcomes.set(item.key, { status: 'APPLIED', from: plain(current), to: result.next });
  }
  return { outcomes, order: order.map((item) => item.key), states };
}
