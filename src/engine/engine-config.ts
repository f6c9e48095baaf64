// What the engine needs from the configuration, with the seed's defaults.
import { type ApproverMap, DEFAULT_APPROVERS } from '../core/approvals.js';
import type { CompiledPolicy } from '../core/policy.js';
import { DEFAULT_RISK_CONFIG, type RiskConfig } from '../core/risk.js';
import type { Priority } from '../core/types.js';
import { DEFAULT_LIMITS, type Limits } from '../core/validate-change-set.js';

export interface EngineConfig {
  risk: RiskConfig;
  approvers: ApproverMap;
  approval: {
    /** Hours from submit to the approval deadline, by priority. */
    deadline_hours: Readonly<Record<Priority, number>>;
    /** When to escalate, as a fraction of the deadline period counted from the deadline. */
    escalate_after: number;
    /** `reject` rejects a change-set still pending at `expire_after`; `none` leaves it pending. */
    on_expiry: 'none' | 'reject';
    /** When to expire, as a fraction of the deadline period counted from the deadline. */
    expire_after: number;
    /** Who hears of an escalation: principal ids or `group:NAME` (never the change-set's creator). */
    escalation_contacts: readonly string[];
    /** Decisions must send the content_hash of what the reviewer read (core/decision-binding.ts). */
    require_content_hash: boolean;
  };
  limits: Limits;
  /** Compiled policies (core/policy.ts), evaluated at create, submit, apply and rollback. */
  policies: readonly CompiledPolicy[];
  auth: {
    /**
     * How long a successful token lookup is remembered, in ms (0: not at all). A token revoked or
     * a principal changed through another instance keeps working here for up to this long.
     */
    token_cache_ms: number;
    /**
     * Whether an admin may issue tokens for human principals (development set-ups). Off: humans
     * get credentials only through a one-time enrolment they redeem themselves (docs/identity.md).
     */
    admin_may_issue_human_tokens: boolean;
    /** Hours an enrolment code stays redeemable. */
    enrolment_ttl_hours: number;
  };
}

export const DEFAULT_ENGINE_CONFIG: EngineConfig = Object.freeze({
  risk: DEFAULT_RISK_CONFIG,
  approvers: DEFAULT_APPROVERS,
  approval: Object.freeze({
    deadline_hours: Object.freeze({ CRITICAL: 2, HIGH: 8, NORMAL: 24, LOW: 48 }),
    escalate_after: 0.5,
    on_expiry: 'none',
    expire_after: 1,
    escalation_contacts: Object.freeze(['group:admin']),
    require_content_hash: false,
  }),
  limits: DEFAULT_LIMITS,
  policies: Object.freeze([]),
  auth: Object.freeze({ token_cache_ms: 1000, admin_may_issue_human_tokens: false, enrolment_ttl_hours: 24 }),
});
