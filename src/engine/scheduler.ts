// Approval deadlines (docs/design.md#deadlines-reminders-and-escalation): at the deadline a reminder to every approver who has not decided,
// after `escalate_after` an escalation to the escalation contacts, and with `on_expiry: reject`
// a rejection after `expire_after`. Each is claimed with FOR UPDATE SKIP LOCKED and written with
// its flag in one transaction, so however many instances run a pass, each happens once per round.

import { isEligibleApprover, stepAudience } from '../core/approvals.js';
import { SYSTEM_ACTOR } from '../core/audit-chain.js';
import type { Principal } from '../core/types.js';
import { claimDueChangeSets, type DueQuery, type NoticeKind, noticeHandled } from '../store/approval-notices.js';
import { loadApprovals } from '../store/approvals.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import type { Queryable } from '../store/db.js';
import { findCandidates } from '../store/principals.js';
import { runWrites } from '../store/statement.js';
import { type EngineContext, inTransaction } from './context.js';
import { Journal } from './journal.js';
import { commitChangeSet } from './scope.js';

/** The actor of everything the scheduler records. */
const EXPIRY_REASON = 'approval deadline expired';
const DEFAULT_BATCH = 100;

export interface DeadlineResult {
  /** Change-sets handled, by kind (not events: one change-set may remind several approvers). */
  reminded: number;
  escalated: number;
  expired: number;
}

type Handler = (ctx: EngineContext, tx: Queryable, row: ChangeSetRow, at: string) => Promise<void>;

function audienceOf(entries: readonly string[]) {
  return stepAudience([{ name: 'audience', count: 0, approvers: [...entries] }]);
}

/** Eligible, active approvers (never the creator) without a current decision on this round. */
async function undecidedApprovers(tx: Queryable, row: ChangeSetRow): Promise<Principal[]> {
  const { ids, groups } = stepAudience(row.approval_steps);
  const candidates = await findCandidates(tx, ids, groups);
  const decided = new Set((await loadApprovals(tx, row.id)).filter((a) => !a.stale).map((a) => a.approver_id));
  return candidates.filter((p) => isEligibleApprover(row.approval_steps, p, row.created_by) && !decided.has(p.id));
}

/** Writes the journal on the change-set's chain and the notice's flag, keeping the version. */
async function recordNotice(
  ctx: EngineContext,
  tx: Queryable,
  row: ChangeSetRow,
  kind: NoticeKind,
  journal: Journal,
  at: string,
) {
  const { writes, head } = journal.forChangeSet(row, ctx.signer);
  await runWrites(tx, [...writes, noticeHandled(row.id, kind, at, head)]);
}

const remind: Handler = async (ctx, tx, row, at) => {
  const approvers = await undecidedApprovers(tx, row);
  const journal = new Journal(SYSTEM_ACTOR, at).audit('approval_reminder', {
    approval_deadline: row.approval_deadline,
    approvers: approvers.map((p) => p.id),
  });
  for (const approver of approvers) {
    journal.event('changeset.approval_reminder', {
      approver_id: approver.id,
      approval_deadline: row.approval_deadline,
      content_hash: row.content_hash,
    });
  }
  await recordNotice(ctx, tx, row, 'reminder', journal, at);
};

const escalate: Handler = async (ctx, tx, row, at) => {
  const { ids, groups } = audienceOf(ctx.config.approval.escalation_contacts);
  const contacts = (await findCandidates(tx, ids, groups)).filter((p) => p.id !== row.created_by);
  const counts = { received_approvals: row.received_approvals, required_approvals: row.required_approvals };
  const journal = new Journal(SYSTEM_ACTOR, at).audit('approval_escalation', {
    approval_deadline: row.approval_deadline,
    recipients: contacts.map((p) => p.id),
    ...counts,
  });
  for (const contact of contacts) {
    journal.event('changeset.approval_escalated', {
      recipient_id: contact.id,
      approval_deadline: row.approval_deadline,
      ...counts,
    });
  }
  await recordNotice(ctx, tx, row, 'escalation', journal, at);
};

const expire: Handler = async (ctx, tx, row, at) => {
  const journal = new Journal(SYSTEM_ACTOR, at)
    .audit('transition', {
      from: row.status,
      to: 'REJECTED',
      cause: 'expired',
      reason: EXPIRY_REASON,
      approval_deadline: row.approval_deadline,
    })
    .event('changeset.rejected', {
      by: SYSTEM_ACTOR,
      reason: EXPIRY_REASON,
      expired: true,
      received_approvals: row.received_approvals,
      required_approvals: row.required_approvals,
    });
  const changes = { status: 'REJECTED' as const, updated_at: at, updated_by: SYSTEM_ACTOR };
  const { version: _, ...head } = await commitChangeSet(
    { access: { mode: 'locked', tx }, row, signer: ctx.signer },
    journal,
    changes,
  );
  await runWrites(tx, [noticeHandled(row.id, 'expiry', at, head)]);
};

/** Claims and handles batches of one kind until fewer than a batch are left to claim. */
async function runKind(
  ctx: EngineContext,
  due: Omit<DueQuery, 'now' | 'limit'>,
  handler: Handler,
  now: Date,
  batch: number,
): Promise<number> {
  const at = now.toISOString();
  let total = 0;
  for (;;) {
    const handled = await inTransaction(ctx, async (tx) => {
      const rows = await claimDueChangeSets(tx, { ...due, now: at, limit: batch });
      for (const row of rows) await handler(ctx, tx, row, at);
      return rows.length;
    });
    total += handled;
    if (handled < batch) return total;
  }
}

/** One pass over every due reminder, escalation and expiry, as of the engine's clock. */
export async function runDeadlines(ctx: EngineContext, options: { batch?: number } = {}): Promise<DeadlineResult> {
  // At least one per claim: a batch of 0 would never finish a pass.
  const batch = Math.max(1, Math.floor(options.batch ?? DEFAULT_BATCH));
  const now = ctx.clock();
  const { escalate_after, on_expiry, expire_after } = ctx.config.approval;
  // Each notice waits for the ones due before it, so that even passes racing on several instances
  // send a round's reminder before its escalation, and its escalation (if due first) before expiry.
  const reminded = await runKind(ctx, { kind: 'reminder', after: 0, requires: [] }, remind, now, batch);
  const escalation = { kind: 'escalation', after: escalate_after, requires: ['reminder'] } as const;
  const escalated = await runKind(ctx, escalation, escalate, now, batch);
  if (on_expiry !== 'reject') return { reminded, escalated, expired: 0 };
  const requires: NoticeKind[] = escalate_after <= expire_after ? ['reminder', 'escalation'] : ['reminder'];
  const expired = await runKind(ctx, { kind: 'expiry', after: expire_after, requires }, expire, now, batch);
  return { reminded, escalated, expired };
}

/**
 * Runs a pass every `intervalMs` (`approval.deadline_check_interval_ms`) in the background: never two at once, a failed pass reported to
 * `onError` (never thrown), and an unref'd timer that does not keep the process alive.
 */
export class DeadlineScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly engine: { runDeadlines(): Promise<DeadlineResult> },
    private readonly intervalMs = 30_000,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the timer and waits for a pass in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  // The next pass is scheduled when the previous one ends, so passes never overlap.
  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.pass();
    }, this.intervalMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    try {
      await this.engine.runDeadlines();
    } catch (error) {
      try {
        this.onError(error);
      } catch {
        // A failing logger must not stop the scheduler.
      }
    } finally {
      this.running = null;
      if (!this.stopped) this.schedule();
    }
  }
}
