// The domain's vocabulary, shared by every layer. Plain data only: no behaviour lives here.
import type { ChangeSetSummary, StepDeciders } from './change-set-shape.js';

export const STATUSES = [
  'DRAFT',
  'PENDING_APPROVAL',
  'APPROVED',
  'APPLIED',
  'PARTIALLY_APPLIED',
  'REJECTED',
  'ROLLED_BACK',
] as const;
export type Status = (typeof STATUSES)[number];

export const OPERATION_TYPES = ['CREATE', 'UPDATE', 'DELETE', 'RESET', 'CLEAR'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export const PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'CRITICAL'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const ITEM_STATUSES = ['PENDING', 'APPLIED', 'FAILED', 'SKIPPED', 'ROLLED_BACK'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

export const DECISIONS = ['APPROVED', 'REJECTED'] as const;
export type Decision = (typeof DECISIONS)[number];

export const APPLY_MODES = ['AUTO', 'ATOMIC', 'BEST_EFFORT', 'DRY_RUN'] as const;
export type ApplyMode = (typeof APPLY_MODES)[number];

export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'DEAD'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const PRINCIPAL_KINDS = ['agent', 'human', 'service'] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One RFC 6902 operation. */
export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: Json;
  from?: string;
}

export interface Principal {
  id: string;
  kind: PrincipalKind;
  display_name: string | null;
  email: string | null;
  slack_id: string | null;
  groups: string[];
  /** Agent-risk override, 0–100. */
  risk: number | null;
  active: boolean;
}

/** An item as proposed (validated input, defaults filled in). */
export interface ItemInput {
  key: string;
  operation_type: OperationType;
  target_type: string;
  target_id: string;
  after_state?: Json | undefined;
  diff_data?: PatchOperation[] | undefined;
  before_state?: Json | undefined;
  base_version?: number | undefined;
  depends_on: string[];
}

/** The create body after validation, defaults filled in. */
export interface ChangeSetInput {
  change_set_id: string;
  title: string;
  description: string | null;
  agent_type: string;
  category: string;
  priority: Priority;
  tags: string[];
  metadata: { [key: string]: Json };
  approval_chain: string[];
  auto_apply: boolean;
  items: ItemInput[];
}

export interface RiskFactors {
  operation: number;
  target: number;
  agent: number;
  scope: number;
  quantity: number;
}

export const RISK_LEVELS = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export interface RiskAssessment {
  score: number;
  level: RiskLevel;
  factors: RiskFactors;
  recommendations: string[];
  auto_approve: boolean;
  /** Approvals the risk model asks for: max(approvals by score, auto_approve ? 0 : 1). */
  required_approvals: number;
  /** Earned trust (docs/trust.md): absent when `trust.mode` is off. */
  trust?: RiskTrust;
}

/** The score, level and approvals of one assessment. */
export interface RiskOutcome {
  score: number;
  level: RiskLevel;
  auto_approve: boolean;
  required_approvals: number;
}

/** The agent's earned trust as one factor of its own: its adjustment, its reason, and its effect. */
export interface RiskTrust {
  mode: 'shadow' | 'enforce';
  /** Points added to (positive) or taken off (negative) the agent factor; 0 when exempt. */
  adjustment: number;
  /** The agent factor with the adjustment, from 0 to 100: what the score uses in enforce. */
  agent_factor: number;
  /** E.g. "-10: 42 applied, 0 rolled back or failed in 30 days". */
  reason: string;
  /** The assessment with the adjustment: in enforce the change-set's own, in shadow what it would have been. */
  with_trust: RiskOutcome;
}

/**
 * One approval step: `count` approvals from principals eligible for it. The risk-based
 * requirement is the first step (name `risk`); policies add more.
 */
export interface ApprovalStep {
  name: string;
  count: number;
  /** Principal ids or `group:NAME`. */
  approvers: string[];
  message?: string | undefined;
}

export interface Approval {
  id: string;
  approver_id: string;
  decision: Decision;
  reason: string | null;
  content_hash: string;
  stale: boolean;
  decided_at: string;
}

export interface Item extends ItemInput {
  id: string;
  sequence: number;
  status: ItemStatus;
  error: ItemError | null;
  applied_version: number | null;
}

export interface ItemError {
  code: string;
  message: string;
}

export interface PolicyEvaluation {
  policy: string;
  action: string;
  effect: 'deny' | 'require_approval' | 'warn';
  matched: boolean;
  message: string | null;
  evaluated_at: string;
}

/** A change-set as the API returns it: its fields (declared in change-set-shape.ts), approvals and items. */
export interface ChangeSet extends ChangeSetSummary {
  approvals: Approval[];
  items: Item[];
  /** Who may decide each open step, without contacts (core/approvals.ts stepDeciders). */
  deciders: StepDeciders[];
}

/** The state of one target in the resource store. `present: false` means absent (never created, or deleted). */
export interface ResourceState {
  present: boolean;
  state: Json;
  version: number;
}
