// The library's public surface.
export { DEFAULT_APPROVERS } from './core/approvals.js';
export { ERROR_CATALOG, LedgerError } from './core/errors.js';
export { assessRisk, DEFAULT_RISK_CONFIG } from './core/risk.js';
export type * from './core/types.js';
export type { VerifyFinding, VerifyResult } from './engine/audit.js';
export { type AuditKey, loadAuditKey, parseAuditKey } from './engine/audit-key.js';
export { AuditSigner } from './engine/audit-signer.js';
export { Engine } from './engine/engine.js';
export { DEFAULT_ENGINE_CONFIG, type EngineConfig } from './engine/engine-config.js';
export type { Db } from './store/db.js';
export { migrate } from './store/migrator.js';
export { openPgDb } from './store/pg-db.js';
export { openPgliteDb } from './store/pglite-db.js';
