// Everything an action records besides its own rows: audit entries (hash-chained) and outbox events.
// Collected while the action decides, then written in the action's transaction.
import { type AuditEntry, GENESIS_HASH, hashEntry, SYSTEM_CHAIN } from '../core/audit-chain.js';
import type { EventType } from '../core/events.js';
import type { ShadowEffect } from '../core/policy.js';
import { type OutcomeFacts, outcomesOf } from '../core/trust.js';
import type { Json, PolicyEvaluation, Status } from '../core/types.js';
import { auditInsert, chainHeadUpdate, lockChainHead } from '../store/audit.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import type { Queryable } from '../store/db.js';
import { type OutboxEvent, outboxInsert } from '../store/outbox.js';
import { shadowInsert } from '../store/policy-shadow.js';
import { runWrites, type Write } from '../store/statement.js';
import { outcomesInsert } from '../store/track-record.js';
import type { AuditSigner } from './audit-signer.js';

export type { EventType } from '../core/events.js';

type Subject = Pick<
  ChangeSetRow,
  'id' | 'change_set_id' | 'title' | 'status' | 'category' | 'priority' | 'agent_id' | 'applied_at'
>;

export class Journal {
  private readonly entries: { action: string; data: Json }[] = [];
  private readonly events: { type: EventType; data: Json; status: Status | undefined }[] = [];
  private readonly shadows: { evaluation: PolicyEvaluation; would: ShadowEffect; refused: boolean }[] = [];

  constructor(
    readonly actor: string,
    readonly at: string,
  ) {}

  audit(action: string, data: Json): this {
    this.entries.push({ action, data });
    return this;
  }

  /** `status` is the change-set's status as of this event; by default its status when written. */
  event(type: EventType, data: Json = {}, status?: Status): this {
    this.events.push({ type, data, status });
    return this;
  }

  /** Results of policies in shadow mode, stored beside the action (not chained: they had no effect). */
  shadow(results: readonly { evaluation: PolicyEvaluation; would: ShadowEffect }[], refused: boolean): this {
    for (const result of results) this.shadows.push({ ...result, refused });
    return this;
  }

  private shadowRows(subject: Subject) {
    return this.shadows.map(({ evaluation, would, refused }) => ({
      policy: evaluation.policy,
      action: evaluation.action,
      change_set: subject.id,
      change_set_id: subject.change_set_id,
      actor: this.actor,
      matched: evaluation.matched,
      would,
      refused,
      message: evaluation.message,
      evaluated_at: evaluation.evaluated_at,
    }));
  }

  /**
   * Chains the entries after `head` (pure: nothing written yet) and signs the new head when there
   * is a signer and `head` is genuine (see audit-signer.ts).
   */
  private seal(
    chain: string,
    changeSet: string | null,
    head: { hash: string; count: number; sig: string | null },
    signer: AuditSigner | null,
  ) {
    let prev = head.hash;
    const sealed: Omit<AuditEntry, 'seq'>[] = this.entries.map((entry, index) => {
      const content = {
        chain,
        chain_seq: head.count + index + 1,
        at: this.at,
        actor: this.actor,
        change_set: changeSet,
        ...entry,
      };
      const hash = hashEntry(prev, content);
      const row = { ...content, prev_hash: prev, hash };
      prev = hash;
      return row;
    });
    const next = { hash: prev, count: head.count + sealed.length };
    return { sealed, head: { ...next, sig: signer?.extend(chain, head, next) ?? null } };
  }

  private outbox(subject: Subject | null): OutboxEvent[] {
    return this.events.map(({ type, data, status }) => ({
      type,
      occurred_at: this.at,
      actor: this.actor,
      change_set: subject?.id ?? null,
      envelope: {
        type,
        occurred_at: this.at,
        actor: this.actor,
        change_set: subject
          ? {
              id: subject.id,
              change_set_id: subject.change_set_id,
              title: subject.title,
              status: status ?? subject.status,
              category: subject.category,
              priority: subject.priority,
              agent_id: subject.agent_id,
            }
          : null,
        data,
      },
    }));
  }

  /** What the events so far count as in the agent's track record (docs/trust.md). */
  outcomes(subject: Pick<Subject, 'status' | 'applied_at'>): OutcomeFacts[] {
    return outcomesOf(this.events, subject, this.at);
  }

  /**
   * The writes of the entries on the change-set's chain, of its events and of the outcomes they
   * count as in its agent's track record, and the chain's new head,
   * which the caller stores on the change-set row in the same statement (see `commitChangeSet`).
   * The caller holds the change-set's row lock, which serialises its chain, or creates the row.
   */
  forChangeSet(subject: Subject & ChainHead, signer: AuditSigner | null): { writes: Write[]; head: ChainHead } {
    const previous = { hash: subject.audit_head, count: subject.audit_count, sig: subject.audit_sig };
    const { sealed, head } = this.seal(subject.id, subject.id, previous, signer);
    const outcomes = this.outcomes(subject).map((facts) => ({
      ...facts,
      agent_id: subject.agent_id,
      change_set: subject.id,
      category: subject.category,
      at: this.at,
    }));
    const writes = [
      auditInsert(sealed),
      outboxInsert(this.outbox(subject)),
      shadowInsert(this.shadowRows(subject)),
      outcomesInsert(outcomes),
    ].filter((w): w is Write => w !== null);
    return { writes, head: { audit_head: head.hash, audit_count: head.count, audit_sig: head.sig } };
  }

  /** Writes entries on the system chain (principals, tokens), whose head row is locked to append. */
  async writeForSystem(tx: Queryable, signer: AuditSigner | null): Promise<void> {
    const current = await lockChainHead(tx, SYSTEM_CHAIN);
    const previous = { hash: current.head, count: current.count, sig: current.sig };
    const { sealed, head } = this.seal(SYSTEM_CHAIN, null, previous, signer);
    await runWrites(tx, [
      auditInsert(sealed),
      outboxInsert(this.outbox(null)),
      chainHeadUpdate(SYSTEM_CHAIN, head.hash, head.count, head.sig),
    ]);
  }
}

export const NEW_CHAIN = { audit_head: GENESIS_HASH, audit_count: 0, audit_sig: null } as const;

export interface ChainHead {
  audit_head: string;
  audit_count: number;
  /** The head's signature; null when written unsigned. */
  audit_sig: string | null;
}
