// Risk and approval steps of a change-set's content: shared by create and edit.
import { requiredApprovals, riskStep } from '../core/approvals.js';
import { contentHash } from '../core/canonical-json.js';
import { assessRisk } from '../core/risk.js';
import type { ApprovalStep, ChangeSetInput, Item, ItemInput, RiskAssessment } from '../core/types.js';
import type { EngineContext } from './context.js';

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
): Assessment {
  const risk = assessRisk(
    { agent_id: agent.id, agent_risk: agent.risk, category: content.category, items: content.items },
    ctx.config.risk,
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
  const approval_steps = [assessment.approval_steps[0]!, ...policySteps];
  return { ...assessment, approval_steps, required_approvals: requiredApprovals(approval_steps) };
}
