// Edit a DRAFT or REJECTED change-set: re-assess risk and steps, recompute the content hash.

import { tallyApprovals } from '../core/approvals.js';
import { LedgerError } from '../core/errors.js';
import { assertTransition } from '../core/lifecycle.js';
import type { ChangeSet, Principal } from '../core/types.js';
import { validateEditChangeSet, validationError } from '../core/validate-change-set.js';
import { deleteItems, insertItems } from '../store/items.js';
import { findPrincipal } from '../store/principals.js';
import { assessContent, materialiseItems, withPolicySteps } from './assess.js';
import { actorContext, type EngineContext } from './context.js';
import { Journal } from './journal.js';
import { auditEvaluation, evaluateFor, mergeEvaluations, policyDenied } from './policies.js';
import { commitChangeSet, locked } from './scope.js';
import { changeSetView } from './view.js';

export interface EditOptions {
  /** The version the editor saw (If-Match): refused with 412 when the change-set has moved on. */
  ifVersion?: number | undefined;
}

export async function editChangeSet(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  body: unknown,
  options: EditOptions = {},
): Promise<ChangeSet> {
  const validated = validateEditChangeSet(body, ctx.config.limits);
  return locked(ctx, reference, async (scope) => {
    const { tx, row, items: oldItems, approvals } = scope;
    assertTransition('edit', row.status, actorContext(row, actor));
    if (options.ifVersion !== undefined && options.ifVersion !== row.version) {
      throw new LedgerError(
        'PRECONDITION_FAILED',
        `change-set ${row.change_set_id} is at version ${row.version}, not ${options.ifVersion}`,
      );
    }
    if (!validated.ok) throw validationError(validated.issues);
    const patch = validated.value;
    const items = patch.items ? materialiseItems(ctx, patch.items) : oldItems;
    const merged = { ...row, ...patch, items };
    const agent = (await findPrincipal(tx, row.agent_id)) ?? { id: row.agent_id, risk: null };
    const { items: _items, ...fields } = patch;
    const riskOnly = assessContent(ctx, merged, agent);
    // An edit is judged like the create it replaces: the create policies are evaluated again.
    const policy = evaluateFor(ctx, 'create', { ...row, ...fields, ...riskOnly }, items, actor);
    if (policy.denials.length > 0) throw policyDenied(policy, 'create');
    const assessment = withPolicySteps(riskOnly, policy.steps);
    const now = ctx.clock().toISOString();
    const journal = new Journal(actor.id, now).audit('edit', {
      fields: Object.keys(patch),
      content_hash: assessment.content_hash,
      risk: { score: assessment.risk.score, level: assessment.risk.level },
    });
    auditEvaluation(journal, 'create', policy);
    if (patch.items) {
      await deleteItems(tx, row.id);
      await insertItems(tx, row.id, items);
    }
    // Approvals count only for the content they approved: an edit may leave a REJECTED change-set
    // with approvals of content that no longer exists (or, when nothing reviewable changed, still does).
    const counted = tallyApprovals(assessment.approval_steps, approvals, assessment.content_hash, row.created_by);
    const changes = {
      ...fields,
      ...assessment,
      received_approvals: counted.received,
      policy_evaluations: mergeEvaluations(row.policy_evaluations, policy, 'create'),
      item_count: items.length,
      updated_at: now,
      updated_by: actor.id,
    };
    const committed = await commitChangeSet(scope, journal, changes);
    return changeSetView({ ...row, ...changes, ...committed }, items, approvals);
  });
}
