// What the engine needs from the configuration, with its defaults: the configuration schema's
// (config-schema.ts), so they cannot drift from what the loader applies.
import { DEFAULTS, type FileSections } from '../config-schema.js';
import { type ApproverMap, DEFAULT_APPROVERS } from '../core/approvals.js';
import type { CompiledPolicy } from '../core/policy.js';
import { DEFAULT_RISK_CONFIG, type RiskConfig } from '../core/risk.js';
import { DEFAULT_TRUST_CONFIG, type TrustConfig } from '../core/trust.js';
import type { Priority } from '../core/types.js';
import type { Limits } from '../core/validate-change-set.js';

type Approval = FileSections['approval'];

export interface EngineConfig {
  risk: RiskConfig;
  approvers: ApproverMap;
  /** `approval` of the configuration (docs/configuration.md), its `deadlines` read as `deadline_hours`. */
  approval: Pick<Approval, 'escalate_after' | 'on_expiry' | 'expire_after' | 'require_content_hash'> & {
    /** Hours from submit to the approval deadline, by priority. */
    deadline_hours: Readonly<Record<Priority, number>>;
    /** Who hears of an escalation: principal ids or `group:NAME` (never the change-set's creator). */
    escalation_contacts: readonly string[];
  };
  limits: Limits;
  /** Compiled policies (core/policy.ts), evaluated at create, submit, apply and rollback. */
  policies: readonly CompiledPolicy[];
  /** `auth` of the configuration: the token cache, human tokens, enrolments (docs/identity.md). */
  auth: FileSections['auth'];
  /** `trust` of the configuration: earned trust in the risk model (docs/trust.md). */
  trust: TrustConfig;
}

// The server's own settings (auto-approval is in the risk model; the deadline tick is the scheduler's).
const { deadlines, auto_approve: _autoApprove, deadline_check_interval_ms: _tick, ...approval } = DEFAULTS.approval;

export const DEFAULT_ENGINE_CONFIG: EngineConfig = Object.freeze({
  risk: DEFAULT_RISK_CONFIG,
  approvers: DEFAULT_APPROVERS,
  approval: Object.freeze({
    deadline_hours: Object.freeze({ ...deadlines }),
    ...approval,
    escalation_contacts: Object.freeze([...approval.escalation_contacts]),
  }),
  limits: Object.freeze({ max_items: DEFAULTS.limits.max_items }),
  policies: Object.freeze([]),
  auth: Object.freeze({ ...DEFAULTS.auth }),
  trust: DEFAULT_TRUST_CONFIG,
});

/** `cache.view_bytes`: serialised views GET /changesets/:id keeps per instance (reads.ts). */
export const DEFAULT_VIEW_CACHE_BYTES = DEFAULTS.cache.view_bytes;
