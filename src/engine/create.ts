// Create: validate, assess risk, store as DRAFT (or APPROVED when auto-approved), audit, announce.
import { LedgerError } from '../core/errors.js';
import type { ChangeSet, Principal, Status } from '../core/types.js';
import { validateCreateChangeSet, validationError } from '../core/validate-change-set.js';
import { type ChangeSetRow, changeSetInsert } from '../store/change-sets.js';
import { isUniqueViolation } from '../store/errors.js';
import { itemsInsert } from '../store/items.js';
import { runWrites } from '../store/statement.js';
import { assessContent, draftRow, materialiseItems, withPolicySteps } from './assess.js';
import { assertActive, type EngineContext, inStatement } from './context.js';
import { Journal } from './journal.js';
import { auditEvaluation, evaluateFor, policyDenied } from './policies.js';
import { readTrust } from './trust.js';
import { changeSetView } from './view.js';

export async function createChangeSet(ctx: EngineContext, actor: Principal, body: unknown): Promise<ChangeSet> {
  assertActive(actor);
  const validated = validateCreateChangeSet(body, ctx.config.limits);
  if (!validated.ok) throw validationError(validated.issues);
  const input = validated.value;
  if (input.agent_id !== undefined && input.agent_id !== actor.id) {
    throw new LedgerError(
      'FORBIDDEN',
      `agent_id ${input.agent_id} is not the authenticated principal ${actor.id}`,
      undefined,
      {
        fix: `leave agent_id out, or set it to ${actor.id}: a change-set is proposed by the principal that sends it`,
      },
    );
  }
  const riskOnly = assessContent(ctx, input, actor, await readTrust(ctx, ctx.db, actor.id));
  const now = ctx.clock().toISOString();
  const items = materialiseItems(ctx, input.items);
  const draft = draftRow(ctx, input, actor, riskOnly, items.length, now);
  // Policies decide with the risk in view; a deny refuses the create, require_approval adds steps.
  const policy = evaluateFor(ctx, 'create', draft, items, actor);
  if (policy.denials.length > 0) throw policyDenied(policy, 'create');
  const assessment = withPolicySteps(riskOnly, policy.steps);
  const autoApproved = assessment.risk.auto_approve && assessment.required_approvals === 0;
  const status: Status = autoApproved ? 'APPROVED' : 'DRAFT';
  const row: ChangeSetRow = { ...draft, ...assessment, status, policy_evaluations: policy.evaluations };
  const journal = new Journal(actor.id, now)
    .audit('create', {
      status,
      content_hash: row.content_hash,
      item_count: items.length,
      risk: { score: assessment.risk.score, level: assessment.risk.level },
      required_approvals: row.required_approvals,
    })
    .event('changeset.created', { risk: { score: assessment.risk.score, level: assessment.risk.level } });
  auditEvaluation(journal, 'create', policy);
  if (autoApproved) {
    journal.audit('auto_approve', { reason: 'the risk model auto-approves this change-set' });
    journal.event('changeset.approved', { auto_approved: true });
  }
  // The chain's head is known before writing (hashes are computed in memory), so the change-set,
  // its items, audit entries and events go in as one statement: atomic without a transaction.
  const recorded = journal.forChangeSet(row, ctx.signer);
  try {
    await inStatement(ctx, (db) =>
      runWrites(db, [...recorded.writes, itemsInsert(row.id, items), changeSetInsert({ ...row, ...recorded.head })]),
    );
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new LedgerError('DUPLICATE', `change-set ${input.change_set_id} already exists`, undefined, {
        cause: error,
        fix: `choose another change_set_id, or GET /api/ledger/changesets/${encodeURIComponent(input.change_set_id)} if your first request did succeed`,
      });
    }
    throw error;
  }
  // Created a draft or approved: no step is open, no deciders.
  return changeSetView(row, items, [], []);
}
