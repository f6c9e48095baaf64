// What a rollback decides, as plain data: which targets another writer moved since the change-set
// wrote them (a conflict, unless an admin forces it), and what restoring each applied item writes.
// The engine reads the targets and the later writes, then writes the decision (engine/rollback.ts).
import { ADMIN_GROUP } from './approvals.js';
import { LedgerError } from './errors.js';
import type { HistoryWrite, ItemUpdate, StoredItem, Target, TargetWrite } from './item-record.js';
import { targetKey } from './item-semantics.js';
import type { Json, Principal, ResourceState } from './types.js';

/** A write to a target by another change-set, after this one wrote it. */
// A type, not an interface: it goes into audit entries as JSON.
export type LaterWrite = {
  version: number;
  /** The writing change-set's human id. */
  change_set: string;
  present: boolean;
  state: Json;
};

/** A target this change-set wrote: the versions it wrote first and last, and how many. */
export interface Written extends Target {
  after_version: number;
  last_version: number;
  writes: number;
}

export interface Moved extends Target {
  /** The version of this change-set's first write: any other writer after it is a conflict. */
  version_written: number;
  current: ResourceState | undefined;
  later_writes: LaterWrite[];
  change_sets: string[];
}

const keyOf = (target: Target): string => targetKey(target.target_type, target.target_id);

/** The items a rollback restores: those applied. */
export function itemsToRollBack<I extends Pick<StoredItem, 'status'>>(items: readonly I[]): I[] {
  return items.filter((item) => item.status === 'APPLIED');
}

/** Only an admin may force a rollback over later writes. */
export function assertMayForce(actor: Pick<Principal, 'id' | 'groups'>, force: boolean): void {
  if (!force || actor.groups.includes(ADMIN_GROUP)) return;
  throw new LedgerError(
    'FORBIDDEN',
    `force is for group ${ADMIN_GROUP}: ${actor.id} may roll back only when no later change-set touched the targets`,
  );
}

/**
 * Targets another change-set wrote after this change-set first wrote them: their current version is
 * not the one it last wrote (moved since), or versions between its first and last writes are not
 * all its own (a gap: a write in between two apply attempts). Versions are contiguous, so this
 * needs no read; only the targets found are looked up in the history, to say who wrote them.
 */
export function movedSince(applied: readonly StoredItem[], states: ReadonlyMap<string, ResourceState>): Written[] {
  const written = new Map<string, Written>();
  for (const item of applied) {
    const key = keyOf(item);
    const known = written.get(key);
    const version = item.applied_version ?? 0;
    written.set(key, {
      target_type: item.target_type,
      target_id: item.target_id,
      after_version: Math.min(version, known?.after_version ?? version),
      last_version: Math.max(version, known?.last_version ?? version),
      writes: (known?.writes ?? 0) + 1,
    });
  }
  return [...written.values()].filter(
    (t) => states.get(keyOf(t))?.version !== t.last_version || t.last_version - t.after_version + 1 !== t.writes,
  );
}

/** The moved targets with who wrote them since (`later`: by target key, oldest first). */
export function describeMoved(
  moved: readonly Written[],
  states: ReadonlyMap<string, ResourceState>,
  later: ReadonlyMap<string, LaterWrite[]>,
): Moved[] {
  return moved.map((t) => {
    const writes = later.get(keyOf(t)) ?? [];
    return {
      target_type: t.target_type,
      target_id: t.target_id,
      version_written: t.after_version,
      current: states.get(keyOf(t)),
      later_writes: writes,
      change_sets: [...new Set(writes.map((w) => w.change_set))].sort(),
    };
  });
}

export function rollbackConflict(changeSetId: string, moved: readonly Moved[]): LedgerError {
  const describe = (m: Moved) =>
    `${m.target_type}/${m.target_id} was changed by ${m.change_sets.join(', ') || 'another writer'} after ${changeSetId} wrote it`;
  return new LedgerError(
    'CONFLICT',
    `cannot roll back ${changeSetId}: ${moved.slice(0, 3).map(describe).join('; ')}${moved.length > 3 ? `; and ${moved.length - 3} more` : ''}`,
    moved.map((m) => ({
      message: describe(m),
      target_type: m.target_type,
      target_id: m.target_id,
      change_sets: m.change_sets,
      version_written: m.version_written,
      current_version: m.current?.version ?? 0,
      later_writes: m.later_writes.map(({ version, change_set }) => ({ version, change_set })),
    })),
    {
      fix: 'propose a new change-set that undoes what you need, or have an admin roll back with force: true (it records what it overwrites)',
    },
  );
}

export interface RollbackInput {
  changeSetId: string;
  applied: readonly StoredItem[];
  /** The distinct targets of the applied items and their current states. */
  targets: readonly Target[];
  states: ReadonlyMap<string, ResourceState>;
  moved: readonly Moved[];
  force: boolean;
}

/** What a forced rollback overwrites: the state it replaces and every later write it erases. */
export type Overridden = {
  target_type: string;
  target_id: string;
  change_sets: string[];
  overwritten: { version: number; present: boolean; state: Json };
  later_writes: LaterWrite[];
};

export interface RollbackDecision {
  /** Every target's final state, one history row per version written, and the items' outcomes. */
  states: TargetWrite[];
  history: HistoryWrite[];
  updates: ItemUpdate[];
  overridden: Overridden[];
}

/** Refuses (CONFLICT) when another writer moved a target and it is not forced; else what to write. */
export function decideRollback(input: RollbackInput): RollbackDecision | { conflict: LedgerError } {
  const { moved } = input;
  if (moved.length > 0 && !input.force) return { conflict: rollbackConflict(input.changeSetId, moved) };
  const { working, history, updates } = restore(input.applied, input.states);
  const states = input.targets.map((t) => {
    const final = working.get(keyOf(t));
    if (!final) throw new Error(`rollback: no state for ${t.target_type}/${t.target_id}`);
    return { ...t, ...final };
  });
  const overridden = moved.map((m) => ({
    target_type: m.target_type,
    target_id: m.target_id,
    change_sets: m.change_sets,
    overwritten: {
      version: m.current?.version ?? 0,
      present: m.current?.present ?? false,
      state: m.current?.present ? m.current.state : null,
    },
    later_writes: m.later_writes,
  }));
  return { states, history, updates, overridden };
}

/** Walks the applied items newest first, restoring what each found; one new version per item. */
function restore(applied: readonly StoredItem[], states: ReadonlyMap<string, ResourceState>) {
  const working = new Map<string, ResourceState>(states);
  const history: HistoryWrite[] = [];
  const updates: ItemUpdate[] = [];
  for (const item of [...applied].sort((a, b) => (b.applied_order ?? 0) - (a.applied_order ?? 0))) {
    const key = keyOf(item);
    const present = item.previous_present === true;
    const next = {
      present,
      state: (present ? item.previous_state : null) as Json,
      version: (working.get(key)?.version ?? 0) + 1,
    };
    working.set(key, next);
    history.push({
      target_type: item.target_type,
      target_id: item.target_id,
      ...next,
      operation: 'ROLLBACK',
      item: item.id,
    });
    updates.push({
      id: item.id,
      status: 'ROLLED_BACK',
      error: null,
      applied_version: item.applied_version,
      previous_present: item.previous_present,
      previous_state: item.previous_state,
      previous_version: item.previous_version,
      applied_order: item.applied_order,
    });
  }
  return { working, history, updates };
}
