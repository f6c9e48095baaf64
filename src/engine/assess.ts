// Risk and approval steps of a change-set's content, and the row a create starts from: shared by
// create, edit and `policy test`.

import { requiredApprovals, riskStep } from '../core/approvals.js';
import { contentHash } from '../core/canonical-json.js';
import { defined } from '../core/defined.js';
import { assessRisk, type TrustInput } from '../core/risk.js';
import type { ApprovalStep, ChangeSetInput, Item, ItemInput, Principal, RiskAssessment } from '../core/types.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import type { EngineContext } from './context.js';
import { NEW_CHAIN } from './journal.js';

export interface Assessment {
  risk: RiskAssessment;
  approval_steps: ApprovalStep[];
  required_approvals: number;
  content_hash: string;
}

type Content = Pick<ChangeSetInput, 'title' | 'description' | 'category' | 'priority' | 'approval_chain' | 'items'>;

export function assessContent(
  ctx: EngineContext,
  content: Content,
  agent: { id: string; risk: number | null },
  trust: TrustInput | null,
): Assessment {
  const risk = assessRisk(
    { agent_id: agent.id, agent_risk: agent.risk, category: content.category, items: content.items },
    ctx.config.risk,
    trust,
  );
  const approval_steps = [
    riskStep(content.category, content.approval_chain, risk.required_approvals, ctx.config.approvers),
  ];
  return {
    risk,
    approval_steps,
    required_approvals: requiredApprovals(approval_steps),
    content_hash: contentHash(content),
  };
}

/** Gives proposed items their ids and sequence numbers. */
export function materialiseItems(ctx: EngineContext, items: readonly ItemInput[]): Item[] {
  return items.map((item, index) => ({
    ...item,
    id: ctx.newId(),
    sequence: index,
    status: 'PENDING',
    error: null,
    applied_version: null,
  }));
}

/** The risk step first, then one step per matched require_approval policy. */
export function withPolicySteps(assessment: Assessment, policySteps: readonly ApprovalStep[]): Assessment {
  const approval_steps = [defined(assessment.approval_steps[0], 'risk step'), ...policySteps];
  return { ...assessment, approval_steps, required_approvals: requiredApprovals(approval_steps) };
}

/** The row create stores, before its policies are evaluated (also what `policy test` evaluates). */
export function draftRow(
  ctx: EngineContext,
  input: ChangeSetInput,
  principal: Principal,
  assessment: Assessment,
  itemCount: number,
  at: string,
): ChangeSetRow {
  return {
    id: ctx.newId(),
    change_set_id: input.change_set_id,
    title: input.title,
    description: input.description,
    agent_id: principal.id,
    agent_type: input.agent_type,
    category: input.category,
    priority: input.priority,
    tags: input.tags,
    metadata: input.metadata,
    approval_chain: input.approval_chain,
    auto_apply: input.auto_apply,
    status: 'DRAFT',
    ...assessment,
    received_approvals: 0,
    approval_deadline: null,
    policy_evaluations: [],
    item_count: itemCount,
    version: 1,
    ...NEW_CHAIN,
    created_at: at,
    created_by: principal.id,
    updated_at: at,
    updated_by: principal.id,
    submitted_at: null,
    applied_at: null,
    applied_by: null,
    rolled_back_at: null,
    rolled_back_by: null,
  };
}
