// The engine's facade: all that http/, cli/ and other callers outside engine/ and store/ may import
// from either (test/architecture.test.ts). The Engine class does the work; the rest are the shapes
// its methods take and return, and the sign-in pieces the HTTP layer wires to it.

export type { ActivityStats } from '../core/activity.js';
export type { PrincipalSeen } from '../core/contacts.js';
export type { DeliveryView } from '../store/deliveries.js';
export type { MigrationResult, SchemaStatus } from '../store/migrator.js';
export type { HistoryView, ResourceView } from '../store/resources.js';
export type { ActivityQuery } from './activity.js';
export type { ApplyResult } from './apply.js';
export { FINDING_KINDS, type VerifyFinding, type VerifyResult } from './audit.js';
export type { DecideOptions } from './decide.js';
export type { DeliveryPage, DeliveryQuery } from './deliveries.js';
export type { EditOptions } from './edit.js';
export { Engine } from './engine.js';
export type { EngineConfig } from './engine-config.js';
export type { ListQuery } from './list.js';
export { LOGIN_COOKIE, LOGIN_TTL_SECONDS, OidcLogin } from './oidc-login.js';
export type { PlanResult } from './plan.js';
export type { PolicyReport, PolicyView, ShadowMatchView, ShadowReport } from './policy-report.js';
export { type PolicyTestResult, testPolicies } from './policy-test.js';
export { REPLAY_DEFAULT_LIMIT, REPLAY_MAX_LIMIT, type ReplayOptions, type ReplayResult } from './replay.js';
export type { RollbackResult } from './rollback.js';
export type { DeadlineResult } from './scheduler.js';
export type { SsoIdentity, SsoOptions } from './sso.js';
export type { RecordWindow, TrackRecord, WindowCounts } from './track-record.js';
