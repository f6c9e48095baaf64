// The library's public surface.
export { DEFAULT_APPROVERS } from './core/approvals.js';
export { ERROR_CATALOG, LedgerError } from './core/errors.js';
export { EVENT_TYPES, type EventType } from './core/events.js';
export { assessRisk, DEFAULT_RISK_CONFIG, type TrustInput } from './core/risk.js';
export {
  DEFAULT_TRUST_CONFIG,
  type RecordWindow,
  type TrackRecord,
  type TrustConfig,
  type TrustHistory,
  type TrustStanding,
  trustStanding,
  type WindowCounts,
} from './core/trust.js';
export type * from './core/types.js';
export { type AuditKey, loadAuditKey, parseAuditKey } from './engine/audit-key.js';
export { AuditSigner } from './engine/audit-signer.js';
export { DEFAULT_ENGINE_CONFIG } from './engine/engine-config.js';
export {
  type ActivityQuery,
  type ActivityStats,
  type ApplyResult,
  type DeadlineResult,
  type DecideOptions,
  type DeliveryPage,
  type DeliveryQuery,
  type DeliveryView,
  type EditOptions,
  Engine,
  type EngineConfig,
  type HistoryView,
  type ListQuery,
  type MigrationResult,
  type PlanResult,
  type PrincipalSeen,
  type ResourceView,
  type RollbackResult,
  type SchemaStatus,
  type SsoIdentity,
  type SsoOptions,
  type VerifyFinding,
  type VerifyResult,
} from './engine/index.js';
export type { Db } from './store/db.js';
export { migrate } from './store/migrator.js';
export { openPgDb } from './store/pg-db.js';
export { openPgliteDb } from './store/pglite-db.js';
export { openPgliteWorkerDb } from './store/pglite-worker-db.js';
