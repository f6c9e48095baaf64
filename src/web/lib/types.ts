// What the API returns, as the dashboard reads it. The domain's own types where they exist.
import type { ChangeSet, Json } from '../../core/types.js';

export type { PlanItem, PlanState } from '../../core/plan.js';
export type { TrackRecord, WindowCounts } from '../../core/trust.js';
export type {
  Approval,
  ApprovalStep,
  ChangeSet,
  Item,
  Json,
  PatchOperation,
  PolicyEvaluation,
  Principal,
  RiskAssessment,
  RiskFactors,
  Status,
} from '../../core/types.js';

/** A change-set in a list: everything but its items and approvals. */
export type ChangeSetSummary = Omit<ChangeSet, 'items' | 'approvals' | 'deciders'>;

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Plan {
  id: string;
  change_set_id: string;
  status: string;
  mode: 'DRY_RUN';
  would_succeed: boolean;
  items: import('../../core/plan.js').PlanItem[];
}

export interface ResourceView {
  target_type: string;
  target_id: string;
  present: boolean;
  state: Json;
  version: number;
  updated_at: string;
  /** The change-set (human id) that wrote the current version. */
  change_set: string | null;
}

export interface HistoryEntry {
  version: number;
  present: boolean;
  state: Json;
  operation: string;
  change_set: string;
  change_set_uuid: string;
  item: string | null;
  actor: string;
  at: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  change_set: string | null;
  data: Json;
}

/** The event envelope of docs/design.md#events, as the event stream sends it. */
export interface LedgerEvent {
  id: number;
  type: string;
  occurred_at: string;
  actor: string;
  change_set: {
    id: string;
    change_set_id: string;
    title: string;
    status: string;
    category?: string;
    priority?: string;
    agent_id?: string;
  } | null;
  data: Json;
}

export interface ApplyResult {
  success: boolean;
  mode: string;
  status: string;
  applied_items?: number;
  failed_items?: number;
  skipped_items?: number;
}

export interface RollbackResult {
  success: boolean;
  rolled_back_items: number;
  failed_items: number;
}
