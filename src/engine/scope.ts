// How an action on one change-set runs: on its contents read under the row lock, or read without
// a lock and written in one statement that checks nothing changed meanwhile (optimistic).
//
// Optimistic actions cost two round trips and hold no lock while Node decides: one statement reads
// the change-set with its items and approvals (one snapshot), the other writes everything the
// action decided, the change-set's UPDATE guarded by `version = <the version read>`. When another
// writer got there first, the guard fails the whole statement (changeledger_version_guard, SQLSTATE
// CL409), nothing of it remains, and the action runs again under the row lock, as a locked action
// does from the start. A refusal decided on the snapshot is a refusal of the change-set as it was
// at that moment: the same answer a request ordered just before the other writer would get.
import type { DeciderCandidate } from '../core/approvals.js';
import { defined } from '../core/defined.js';
import type { LedgerError } from '../core/errors.js';
import type { TargetState } from '../core/item-semantics.js';
import type { ApprovalWithApprover } from '../store/approvals.js';
import { lockChangeSetContents, readChangeSetContents } from '../store/change-set-contents.js';
import { type ChangeSetPatch, type ChangeSetRow, changeSetUpdate } from '../store/change-sets.js';
import type { Queryable } from '../store/db.js';
import { isRetryable, isUniqueViolation, sqlState } from '../store/errors.js';
import type { StoredItem } from '../store/items.js';
import { guardedWritesOnly, runWrites, type Write } from '../store/statement.js';
import type { AuditSigner } from './audit-signer.js';
import { type EngineContext, found, inTransaction } from './context.js';
import type { Journal } from './journal.js';

/**
 * How an action runs: in a transaction holding the change-set's row lock (`locked`: it may write
 * anything through `tx`), or on a snapshot read from the pool (`optimistic`: it writes only through
 * `commitChangeSet`, whose statement checks the change-set is still at `version`).
 */
export type ActionMode =
  | { readonly mode: 'locked'; readonly tx: Queryable }
  | { readonly mode: 'optimistic'; readonly db: Queryable; readonly version: number };

export type LockedMode = Extract<ActionMode, { mode: 'locked' }>;

export interface Scope<M extends ActionMode = ActionMode> {
  readonly access: M;
  /** Where the action reads: the locked transaction, or the pool. */
  db: Queryable;
  row: ChangeSetRow;
  items: StoredItem[];
  approvals: ApprovalWithApprover[];
  /** Who its steps name while it awaits decisions, read with it: the answer's deciders (engine/view.ts). */
  candidates: DeciderCandidate[];
  /** Its items' targets' states read with it (optimistic, when the action asked: `ContentsReads`), else null. */
  states: Map<string, TargetState> | null;
  /** Signs the chain's new head (EngineContext.signer). */
  signer: AuditSigner | null;
}

/** Where the action's statement is written: its transaction, or the pool. */
const writer = (access: ActionMode): Queryable => (access.mode === 'locked' ? access.tx : access.db);

const VERSION_CONFLICT = 'CL409';

/** What the optimistic read fetches beside the contents: `targetStates`, its items' targets' states. */
export type ContentsReads = { targetStates?: boolean };

/** Thrown by an optimistic action that cannot decide without the lock: it runs again under it. */
export class NeedsLock extends Error {
  constructor(why: string) {
    super(`needs the row lock: ${why}`);
  }
}

/** In a transaction, on the change-set locked with its contents. */
export function locked<T>(
  ctx: EngineContext,
  reference: string,
  act: (scope: Scope<LockedMode>) => Promise<T>,
): Promise<T> {
  return inTransaction(ctx, async (tx) =>
    act({
      access: { mode: 'locked', tx },
      db: tx,
      ...found(await lockChangeSetContents(tx, reference), reference),
      signer: ctx.signer,
    }),
  );
}

/**
 * Optimistically first, under the lock when another writer got in between. `act` must write only
 * through `commitChangeSet` (its one guarded statement): anything written before it would stay.
 */
export async function optimistic<T>(
  ctx: EngineContext,
  reference: string,
  act: (scope: Scope) => Promise<T>,
  reads: ContentsReads = {},
): Promise<T> {
  const contents = found(await readChangeSetContents(ctx.db, reference, reads), reference);
  try {
    // Outside production, a write through the optimistic scope other than commitChangeSet's one
    // guarded statement throws (store/statement.ts); reads pass.
    const db = guardedWritesOnly(ctx.db);
    const access = { mode: 'optimistic', db, version: contents.row.version } as const;
    return await act({ access, db, ...contents, signer: ctx.signer });
  } catch (error) {
    if (!lostTheRace(error)) throw error;
  }
  return locked(ctx, reference, act);
}

/**
 * Throws a refusal that rests on more than the change-set's snapshot (target states, principals
 * read after it): optimistically those reads may be of a later moment than the snapshot, so the
 * action decides again under the lock, where they are certain; under the lock it is thrown.
 */
export function refuse(access: ActionMode, error: LedgerError): never {
  if (access.mode === 'optimistic') throw new NeedsLock(error.message);
  throw error;
}

/**
 * What sends an optimistic action to the lock: its own request, the guard, a deadlock or
 * serialisation failure, or a unique row another writer inserted first (a history version, say).
 */
const lostTheRace = (error: unknown): boolean =>
  error instanceof NeedsLock || sqlState(error) === VERSION_CONFLICT || isRetryable(error) || isUniqueViolation(error);

export interface CommitOptions {
  writes?: readonly (Write | null)[];
  counted?: { writes: readonly Write[]; rows: number };
  newRound?: boolean;
}

/**
 * Ends an action in one statement: its own `writes` (items, targets, approvals…), the journal's
 * audit entries and events, and the update of the change-set row with `changes`, the chain's new
 * head and a new version, which it returns. Optimistic scopes guard the update by the version read,
 * and `counted` writes by their row count: each must return exactly `rows` rows in all (one per
 * row it wrote), else nothing of the statement remains (a version conflict).
 */
export async function commitChangeSet(
  scope: Pick<Scope, 'access' | 'row' | 'signer'>,
  journal: Journal,
  changes: ChangeSetPatch,
  options: CommitOptions = {},
): Promise<{ version: number; audit_head: string; audit_count: number; audit_sig: string | null }> {
  const { row, access } = scope;
  const recorded = journal.forChangeSet({ ...row, ...changes } as ChangeSetRow, scope.signer);
  const counted = options.counted?.writes ?? [];
  const writes = [...counted, ...(options.writes ?? []), ...recorded.writes].filter(
    (write): write is Write => write !== null,
  );
  const update = changeSetUpdate(
    row.id,
    { ...changes, ...recorded.head },
    { newRound: options.newRound ?? false, ...(access.mode === 'locked' ? {} : { expectVersion: access.version }) },
  );
  if (access.mode === 'locked' && counted.length === 0) {
    const { rows } = await runWrites<{ version: number }>(access.tx, [...writes, update]);
    return { version: defined(rows[0], 'updated change-set version').version, ...recorded.head };
  }
  // The counted writes are w0… (first), the update is the last CTE.
  const found = counted.map((_, i) => `(SELECT count(*) FROM w${i})`).join(' + ');
  const version = `(SELECT version FROM w${writes.length})`;
  const guarded: Write = (p) =>
    `SELECT changeledger_version_guard(${
      counted.length === 0
        ? version
        : `CASE WHEN ${found} = ${p.add(defined(options.counted, 'counted writes').rows)}::bigint THEN ${version} END`
    }) AS version`;
  const statement = [...writes, update, guarded];
  const { rows } = await runWrites<{ version: number }>(writer(access), statement);
  return { version: defined(rows[0], 'guarded change-set version').version, ...recorded.head };
}
