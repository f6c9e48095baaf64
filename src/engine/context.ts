// What every action shares: the database, the configuration, the clock and id source, and the
// one way to run an action: a transaction that retries on deadlock or serialisation failure.
import { randomUUID } from 'node:crypto';
import { isEligibleApprover } from '../core/approvals.js';
import { LedgerError } from '../core/errors.js';
import type { ActorContext } from '../core/lifecycle.js';
import type { Principal } from '../core/types.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import type { Db, Queryable } from '../store/db.js';
import { isRetryable } from '../store/errors.js';
import type { AuditSigner } from './audit-signer.js';
import type { EngineConfig } from './engine-config.js';

export interface EngineContext {
  db: Db;
  config: EngineConfig;
  clock: () => Date;
  newId: () => string;
  /** Signs the audit chain heads; null: heads are written unsigned (docs/security.md). */
  signer: AuditSigner | null;
}

export interface EngineDeps {
  db: Db;
  config: EngineConfig;
  clock?: () => Date;
  newId?: () => string;
  /** The audit signing key (engine/audit-key.ts); without it heads are unsigned. */
  signer?: AuditSigner | null;
  /** `cache.view_bytes`: serialised views GET /changesets/:id keeps (engine/reads.ts). */
  viewCacheBytes?: number;
}

export const toContext = (deps: EngineDeps): EngineContext => ({
  db: deps.db,
  config: deps.config,
  clock: deps.clock ?? (() => new Date()),
  newId: deps.newId ?? randomUUID,
  signer: deps.signer ?? null,
});

const MAX_ATTEMPTS = 5;

async function retrying<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!isRetryable(error) || attempt >= MAX_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}

export function inTransaction<T>(ctx: EngineContext, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return retrying(() => ctx.db.transaction(fn));
}

/** For an action whose writes are one statement (atomic by itself): no transaction around it. */
export function inStatement<T>(ctx: EngineContext, fn: (db: Queryable) => Promise<T>): Promise<T> {
  return retrying(() => fn(ctx.db));
}

/** The change-set that was looked for by `reference`, or the NOT_FOUND refusal. */
export function found<T>(value: T | null, reference: string): T {
  if (value === null) throw new LedgerError('NOT_FOUND', `change-set ${reference} does not exist`);
  return value;
}

export function actorContext(row: ChangeSetRow, actor: Principal): ActorContext {
  return {
    principal: actor,
    createdBy: row.created_by,
    isEligibleApprover: isEligibleApprover(row.approval_steps, actor, row.created_by),
  };
}

export function assertActive(actor: Principal): void {
  if (!actor.active) throw new LedgerError('FORBIDDEN', `principal ${actor.id} is inactive`);
}
