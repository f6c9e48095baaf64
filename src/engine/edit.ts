// Edit a DRAFT or REJECTED change-set: re-assess risk and steps, recompute the content hash.

import { tallyApprovals } from '../core/approvals.js';
import { LedgerError } from '../core/errors.js';
import type { ChangeSet, Principal } from '../core/types.js';
import { validateEditChangeSet, validationError } from '../core/validate-change-set.js';
import { deleteItems, insertItems } from '../store/items.js';
import { findPrincipal } from '../store/principals.js';
import { runAction } from './action.js';
import { assessContent, materialiseItems, withPolicySteps } from './assess.js';
import type { EngineContext } from './context.js';
import { auditEvaluation, evaluateFor, mergeEvaluations, policyDenied } from './policies.js';
import { readTrust } from './trust.js';
import { changeSetView } from './view.js';

export interface EditOptions {
  /** The version the editor saw (If-Match): refused with 412 when the change-set has moved on. */
  ifVersion?: number | undefined;
}

export function editChangeSet(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  body: unknown,
  options: EditOptions = {},
): Promise<ChangeSet> {
  const validated = validateEditChangeSet(body, ctx.config.limits);
  return runAction(ctx, actor, reference, {
    action: 'edit',
    // Its items are replaced before the commit: under the lock.
    mode: 'locked',
    check: ({ row }) => {
      if (options.ifVersion !== undefined && options.ifVersion !== row.version) {
        throw new LedgerError(
          'PRECONDITION_FAILED',
          `change-set ${row.change_set_id} is at version ${row.version}, not ${options.ifVersion}`,
        );
      }
    },
    decide: async ({ scope, journal }) => {
      const { access, row, items: oldItems, approvals } = scope;
      if (!validated.ok) throw validationError(validated.issues);
      const patch = validated.value;
      const items = patch.items ? materialiseItems(ctx, patch.items) : oldItems;
      const merged = { ...row, ...patch, items };
      const agent = (await findPrincipal(access.tx, row.agent_id)) ?? { id: row.agent_id, risk: null };
      const { items: _items, ...fields } = patch;
      const riskOnly = assessContent(ctx, merged, agent, await readTrust(ctx, access.tx, row.agent_id));
      // An edit is judged like the create it replaces: the create policies are evaluated again, on
      // the content as edited (a denial is not recorded: the edit did not happen).
      const policy = evaluateFor(ctx, 'create', { ...row, ...fields, ...riskOnly }, items, actor);
      if (policy.denials.length > 0) throw policyDenied(policy, 'create');
      const assessment = withPolicySteps(riskOnly, policy.steps);
      journal.audit('edit', {
        fields: Object.keys(patch),
        content_hash: assessment.content_hash,
        risk: { score: assessment.risk.score, level: assessment.risk.level },
      });
      auditEvaluation(journal, 'create', policy);
      if (patch.items) {
        await deleteItems(access.tx, row.id);
        await insertItems(access.tx, row.id, items);
      }
      // Approvals count only for the content they approved: an edit may leave a REJECTED change-set
      // with approvals of content that no longer exists (or, when nothing reviewable changed, still does).
      const counted = tallyApprovals(assessment.approval_steps, approvals, assessment.content_hash, row.created_by);
      return {
        changes: {
          ...fields,
          ...assessment,
          received_approvals: counted.received,
          policy_evaluations: mergeEvaluations(row.policy_evaluations, policy, 'create'),
          item_count: items.length,
        },
        // An edit leaves it a draft or rejected: no step is open, no deciders.
        answer: (committed) => changeSetView(committed, items, approvals, []),
      };
    },
  });
}
