// The engine as a library: every lifecycle action of a change-set, the resource store, the audit
// trail, principals and tokens. Each action is one transaction; see the files beside this one.

import type { ActivityStats } from '../core/activity.js';
import { ADMIN_GROUP } from '../core/approvals.js';
import type { AuditEntry } from '../core/audit-chain.js';
import { type PrincipalSeen, principalAsSeenBy } from '../core/contacts.js';
import { LedgerError } from '../core/errors.js';
import type { ChangeSet, Json, Principal } from '../core/types.js';
import { parseApply, parseDecision, parseReason, parseRollback } from '../core/validate-actions.js';
import { type ValidationIssue, validateCreateChangeSet, validateEditChangeSet } from '../core/validate-change-set.js';
import { countByStatus, oldestPendingSubmission } from '../store/change-set-list.js';
import { readChangeSets, readViewInputs } from '../store/change-set-read.js';
import { findChangeSet } from '../store/change-sets.js';
import type { Db } from '../store/db.js';
import type { DeliveryView } from '../store/deliveries.js';
import { claimKey, completeKey, type IdempotencyClaim, releaseKey, type StoredResponse } from '../store/idempotency.js';
import { type MigrationResult, migrate, type SchemaStatus, schemaStatus } from '../store/migrator.js';
import { findPrincipal, findPrincipalsBySlackId, listPrincipals, type TokenRow } from '../store/principals.js';
import { getHistory, getResource, type HistoryView, listResources, type ResourceView } from '../store/resources.js';
import { claimSlackRequest } from '../store/slack-requests.js';
import { type ActivityQuery, activityStats } from './activity.js';
import { type ApplyResult, applyChangeSet } from './apply.js';
import { adoptUnsignedHeads, changeSetAudit, type VerifyResult, verifyAudit } from './audit.js';
import { type EngineContext, type EngineDeps, found, toContext } from './context.js';
import { createChangeSet } from './create.js';
import { type DecideOptions, decideChangeSet } from './decide.js';
import { type DeliveryPage, type DeliveryQuery, listDeliveryPage, retryDeliveryNow } from './deliveries.js';
import { type EditOptions, editChangeSet } from './edit.js';
import { DEFAULT_VIEW_CACHE_BYTES, type EngineConfig } from './engine-config.js';
import * as enrolments from './enrolments.js';
import { type ChangeSetPage, decodeCursor, encodeCursor, type ListQuery, listChangeSetSummaries } from './list.js';
import { type PlanResult, planChangeSet } from './plan.js';
import { isActiveAdmin, type PolicyReport, policyReport } from './policy-report.js';
import * as principals from './principals.js';
import { ChangeSetReads, type RenderedView } from './reads.js';
import { type ReplayOptions, type ReplayResult, replayHistory } from './replay.js';
import { type RollbackResult, rollbackChangeSet } from './rollback.js';
import { type DeadlineResult, runDeadlines } from './scheduler.js';
import { type SsoIdentity, type SsoOptions, signInWithSso } from './sso.js';
import { submitChangeSet } from './submit.js';
import { readTrackRecord, type TrackRecord } from './track-record.js';
import { transitionChangeSet } from './transitions.js';

export class Engine {
  /** For engine/ and tests: http/, cli/ and notify/ use the methods instead (test/architecture.test.ts). */
  readonly ctx: EngineContext;
  /** Recent successful token lookups (config `auth.token_cache_ms`); see principals.ts. */
  private readonly tokenCache: principals.TokenCache;
  /** Told when this instance changed principals or tokens (open event streams re-validate then). */
  private readonly credentialListeners = new Set<() => void>();
  /** Change-set reads gathered into batches, and the views this instance serialised (reads.ts). */
  private readonly reads: ChangeSetReads;

  constructor(deps: EngineDeps) {
    this.ctx = toContext(deps);
    this.tokenCache = new principals.TokenCache(deps.config.auth.token_cache_ms);
    this.reads = new ChangeSetReads(
      {
        read: (references) => readChangeSets(deps.db, references),
        check: (references) => readViewInputs(deps.db, references),
      },
      { cacheChars: deps.viewCacheBytes ?? DEFAULT_VIEW_CACHE_BYTES },
    );
  }

  /** For the composition root and tests, like `ctx`. */
  get db(): Db {
    return this.ctx.db;
  }

  async create(actor: Principal, body: unknown): Promise<ChangeSet> {
    const created = await createChangeSet(this.ctx, actor, body);
    return created.status === 'APPROVED' && created.auto_apply ? this.autoApply(created) : created;
  }

  /**
   * Every problem of a create or edit body, checked without acting: the API reports them with its
   * schema's in one answer (docs/errors.md).
   */
  changeSetBodyProblems(kind: 'create' | 'edit', body: unknown): ValidationIssue[] {
    const { limits } = this.ctx.config;
    const validated = kind === 'create' ? validateCreateChangeSet(body, limits) : validateEditChangeSet(body, limits);
    return validated.ok ? [] : validated.issues;
  }

  edit(actor: Principal, reference: string, body: unknown, options?: EditOptions): Promise<ChangeSet> {
    return editChangeSet(this.ctx, actor, reference, body, options);
  }

  async submit(actor: Principal, reference: string): Promise<ChangeSet> {
    const submitted = await submitChangeSet(this.ctx, actor, reference);
    return submitted.status === 'APPROVED' && submitted.auto_apply ? this.autoApply(submitted) : submitted;
  }

  withdraw(actor: Principal, reference: string, body?: unknown): Promise<ChangeSet> {
    return transitionChangeSet(this.ctx, actor, reference, 'withdraw', parseReason(body).reason);
  }

  reopen(actor: Principal, reference: string, body?: unknown): Promise<ChangeSet> {
    return transitionChangeSet(this.ctx, actor, reference, 'reopen', parseReason(body).reason);
  }

  close(actor: Principal, reference: string, body?: unknown): Promise<ChangeSet> {
    return transitionChangeSet(this.ctx, actor, reference, 'close', parseReason(body).reason);
  }

  /**
   * `body.content_hash` binds the decision to the content the reviewer read (409 STALE_CONTENT
   * otherwise; required under approval.require_content_hash), `options.ifVersion` to the version
   * (412 PRECONDITION_FAILED otherwise).
   */
  async decide(actor: Principal, reference: string, body: unknown, options: DecideOptions = {}): Promise<ChangeSet> {
    const input = parseDecision(body, { requireContentHash: this.ctx.config.approval.require_content_hash });
    const decided = await decideChangeSet(this.ctx, actor, reference, input, options);
    const becameApproved = decided.status === 'APPROVED' && input.decision === 'APPROVED';
    return becameApproved && decided.auto_apply ? this.autoApply(decided) : decided;
  }

  /**
   * Applies in `body.mode` AUTO (the default), ATOMIC or BEST_EFFORT. DRY_RUN writes nothing: it is
   * `plan`, and refused here (400) so that this always answers an ApplyResult.
   */
  async apply(actor: Principal, reference: string, body?: unknown): Promise<ApplyResult> {
    const { mode } = parseApply(body);
    if (mode === 'DRY_RUN') {
      throw new LedgerError('VALIDATION_FAILED', 'mode DRY_RUN does not apply: it is the plan (Engine.plan)', [
        { path: 'mode', message: 'DRY_RUN is answered by plan' },
      ]);
    }
    return applyChangeSet(this.ctx, actor, reference, mode);
  }

  /** What applying would do now, written nowhere, in any status (the DRY_RUN of apply). */
  plan(reference: string): Promise<PlanResult> {
    return planChangeSet(this.ctx, reference);
  }

  rollback(actor: Principal, reference: string, body?: unknown): Promise<RollbackResult> {
    return rollbackChangeSet(this.ctx, actor, reference, parseRollback(body));
  }

  /** One pass of approval deadlines: reminders, escalations and expiries now due (see scheduler.ts). */
  runDeadlines(options?: { batch?: number }): Promise<DeadlineResult> {
    return runDeadlines(this.ctx, options);
  }

  /**
   * The change-set with its items and approvals, read in the next batch of this instance's reads:
   * one statement for all of them (reads.ts, store/change-set-read.ts).
   */
  async get(reference: string): Promise<ChangeSet> {
    return found(await this.reads.get(reference), reference);
  }

  /**
   * The change-set serialised by `render` (GET /changesets/:id), from this instance's cache when a
   * statement sent after this call shows that nothing it was built from changed (reads.ts).
   */
  async getRendered(reference: string, render: (view: ChangeSet) => string): Promise<RenderedView> {
    return found(await this.reads.rendered(reference, render), reference);
  }

  list(actor: Principal, query: ListQuery, maxLimit = 200): Promise<ChangeSetPage> {
    return listChangeSetSummaries(this.db, actor, query, maxLimit);
  }

  /** Activity over whole UTC days ending today: outcomes per day, time to decision, the queue, agents. */
  activity(query?: ActivityQuery): Promise<ActivityStats> {
    return activityStats(this.ctx, query);
  }

  audit(reference: string): Promise<AuditEntry[]> {
    return changeSetAudit(this.db, reference);
  }

  verifyAudit(): Promise<VerifyResult> {
    return verifyAudit(this.db, this.ctx.signer);
  }

  /** Signs heads written without a key, when verify finds nothing else (docs/security.md). */
  adoptUnsignedHeads(): Promise<{ adopted: number; result: VerifyResult }> {
    if (!this.ctx.signer) throw new LedgerError('CONFLICT', 'no audit signing key: nothing to sign the heads with');
    return adoptUnsignedHeads(this.db, this.ctx.signer);
  }

  async resource(target_type: string, target_id: string): Promise<ResourceView> {
    const found = await getResource(this.db, { target_type, target_id });
    if (!found) throw new LedgerError('NOT_FOUND', `resource ${target_type}/${target_id} does not exist`);
    return found;
  }

  resourceHistory(target_type: string, target_id: string): Promise<HistoryView[]> {
    return getHistory(this.db, { target_type, target_id });
  }

  /** Present resources in key order; `cursor` is the `next_cursor` of the previous page. */
  async listResources(query: {
    target_type?: string | undefined;
    prefix?: string | undefined;
    limit?: number | undefined;
    cursor?: string | undefined;
  }): Promise<{ data: ResourceView[]; next_cursor: string | null }> {
    const limit = query.limit ?? 100;
    const [target_type, target_id] = query.cursor ? decodeCursor(query.cursor, 2) : [];
    const after = target_type !== undefined && target_id !== undefined ? { target_type, target_id } : undefined;
    const rows = await listResources(this.db, {
      target_type: query.target_type,
      prefix: query.prefix,
      after,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const next = rows.length > limit && last ? encodeCursor([last.target_type, last.target_id]) : null;
    return { data: page, next_cursor: next };
  }

  /**
   * The loaded policies, read-only, without their compiled conditions; for admins (and `actor`
   * null, the library's caller) with the shadow policies and their report over `since`.
   */
  policies(actor: Principal | null = null, query: { since?: string | undefined } = {}): Promise<PolicyReport> {
    return policyReport(this.ctx, actor, query);
  }

  /**
   * A candidate configuration judged against the change-sets recorded since `options.since`,
   * changing nothing (replay.ts). For admins (`actor` null: the library's or the CLI's caller).
   */
  replayPolicies(actor: Principal | null, candidate: EngineConfig, options: ReplayOptions = {}): Promise<ReplayResult> {
    if (!isActiveAdmin(actor)) {
      throw new LedgerError('FORBIDDEN', `replaying a candidate configuration is for group ${ADMIN_GROUP}`);
    }
    return replayHistory(this.ctx, candidate, options);
  }

  principal(id: string): Promise<Principal | null> {
    return findPrincipal(this.db, id);
  }

  /** The active principals with this Slack user id (Slack interactions map their user by it). */
  principalsWithSlackId(slackId: string): Promise<Principal[]> {
    return findPrincipalsBySlackId(this.db, slackId);
  }

  async requirePrincipal(id: string): Promise<Principal> {
    const found = await findPrincipal(this.db, id);
    if (!found) throw new LedgerError('NOT_FOUND', `principal ${id} does not exist`);
    return found;
  }

  /** One principal as `viewer` may see it: contacts only for admins and the principal itself. */
  async principalFor(viewer: Principal, id: string): Promise<PrincipalSeen> {
    return principalAsSeenBy(viewer, await this.requirePrincipal(id));
  }

  listPrincipals(): Promise<Principal[]> {
    return listPrincipals(this.db);
  }

  /** Every principal as `viewer` may see it: contacts only for admins and the principal itself. */
  async listPrincipalsFor(viewer: Principal): Promise<PrincipalSeen[]> {
    return (await listPrincipals(this.db)).map((p) => principalAsSeenBy(viewer, p));
  }

  createPrincipal(
    actor: Principal | null,
    ...rest: Parameters<typeof principals.createPrincipal> extends [unknown, unknown, ...infer R] ? R : never
  ): Promise<{ principal: Principal; token: principals.IssuedToken | null }> {
    return principals.createPrincipal(this.ctx, actor, ...rest);
  }

  /**
   * Signs in the person an identity provider vouched for: a new token of theirs. Their groups may
   * change with the provider's (group_map), hence the cache is cleared.
   */
  signInWithSso(
    identity: SsoIdentity,
    options: SsoOptions,
    client?: { ip: string | null },
  ): Promise<principals.IssuedToken> {
    return this.clearingTokenCache(() => signInWithSso(this.ctx, identity, options, client));
  }

  /** Takes effect at once on this instance's token cache (on others, within auth.token_cache_ms). */
  updatePrincipal(
    actor: Principal,
    id: string,
    patch: Parameters<typeof principals.updatePrincipal>[3],
  ): Promise<Principal> {
    return this.clearingTokenCache(() => principals.updatePrincipal(this.ctx, actor, id, patch));
  }

  issueToken(
    actor: Principal | null,
    principalId: string,
    name?: string | null,
    token?: string,
  ): Promise<principals.IssuedToken> {
    return principals.issueToken(this.ctx, actor, principalId, name ?? null, token);
  }

  /** An enrolment for `principalId` (admin; null: the operator): its code is shown once, in this answer. */
  createEnrolment(actor: Principal | null, principalId: string): Promise<enrolments.CreatedEnrolment> {
    return enrolments.createEnrolment(this.ctx, actor, principalId);
  }

  /** Redeems an enrolment code for a new token, once; no principal needed (the code is the credential). */
  redeemEnrolment(code: string, client?: { ip: string | null }): Promise<principals.IssuedToken> {
    return enrolments.redeemEnrolment(this.ctx, code, client);
  }

  /** Takes effect at once on this instance's token cache (on others, within auth.token_cache_ms). */
  revokeToken(actor: Principal, tokenId: string): Promise<TokenRow> {
    return this.clearingTokenCache(() => principals.revokeToken(this.ctx, actor, tokenId));
  }

  /**
   * The active principal of a bearer token, or null. A successful lookup is remembered for
   * `auth.token_cache_ms` (a frozen object); an unknown or revoked token is asked every time.
   */
  authenticate(token: string): Promise<Principal | null> {
    return principals.authenticate(this.ctx, token, this.tokenCache);
  }

  /** Of these bearer tokens, those that still authenticate (one database query, no cache). */
  stillAuthenticating(tokens: readonly string[]): Promise<Set<string>> {
    return principals.stillAuthenticating(this.ctx, tokens);
  }

  /**
   * Calls `listener` after every change to principals or tokens made through this Engine (a revoke,
   * a deactivation); returns the function that stops it. Other instances' changes are not heard.
   */
  onCredentialsChanged(listener: () => void): () => void {
    this.credentialListeners.add(listener);
    return () => this.credentialListeners.delete(listener);
  }

  /**
   * Runs a change to principals or tokens, then empties the token cache, even when the change
   * failed (a failed COMMIT may still have committed). createPrincipal and issueToken only add
   * rows, and only successful lookups are cached, so they cannot leave a cached entry stale.
   */
  private async clearingTokenCache<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } finally {
      this.tokenCache.clear();
      for (const listener of this.credentialListeners) listener();
    }
  }

  // What the HTTP layer and the CLI keep in or read from the database goes through here too: they
  // never import store/ (test/architecture.test.ts, docs/architecture.md "The boundary").

  /** The configuration this engine runs with (read-only). */
  get config(): Readonly<EngineConfig> {
    return this.ctx.config;
  }

  /** The engine's clock (a test may set it). */
  now(): Date {
    return this.ctx.clock();
  }

  /** Applies the pending schema migrations (once across instances: an advisory lock). */
  migrate(): Promise<MigrationResult> {
    return migrate(this.db);
  }

  /** Readiness: the schema version applied, and the one this code expects. */
  schemaStatus(): Promise<SchemaStatus> {
    return schemaStatus(this.db);
  }

  /**
   * Records a Slack request's signature, once: false when it was seen before (a replay). Kept
   * `keepSeconds`, so a signature is refused for as long as its timestamp would pass.
   */
  claimSlackRequest(signature: string, keepSeconds: number): Promise<boolean> {
    return claimSlackRequest(this.db, signature, this.now().toISOString(), keepSeconds);
  }

  /** Change-sets by status (metrics). */
  countByStatus(): Promise<Record<string, number>> {
    return countByStatus(this.db);
  }

  /** When the longest-waiting pending change-set was submitted (metrics: the queue's age). */
  oldestPendingSubmission(): ReturnType<typeof oldestPendingSubmission> {
    return oldestPendingSubmission(this.db);
  }

  /** The uuid of a change-set named by its uuid or human id (NOT_FOUND otherwise): one small query. */
  async changeSetId(reference: string): Promise<string> {
    return found(await findChangeSet(this.db, reference), reference).id;
  }

  /** Claims an Idempotency-Key now: null when this request got it, else what is stored for it. */
  claimIdempotencyKey(claim: Omit<IdempotencyClaim, 'now'>): Promise<StoredResponse | null> {
    return claimKey(this.db, { ...claim, now: this.now().toISOString() });
  }

  /** Stores the response of the request that claimed the key, for replays. */
  completeIdempotencyKey(principalId: string, key: string, statusCode: number, response: Json): Promise<void> {
    return completeKey(this.db, principalId, key, statusCode, response);
  }

  /** Frees a key whose request was refused or failed. */
  releaseIdempotencyKey(principalId: string, key: string): Promise<void> {
    return releaseKey(this.db, principalId, key);
  }

  /**
   * An agent's track record and earned trust (docs/trust.md): for admins, people and the agent
   * itself (403 for anyone else, before the agent is looked up).
   */
  trackRecord(actor: Principal, agentId: string): Promise<TrackRecord> {
    return readTrackRecord(this.ctx, this.db, actor, agentId);
  }

  /** Notification deliveries, newest first (groups admin and operator; engine/deliveries.ts). */
  listDeliveries(actor: Principal, query: DeliveryQuery, maxLimit?: number): Promise<DeliveryPage> {
    return listDeliveryPage(this.ctx, actor, query, maxLimit);
  }

  /** A delivery due again now with a fresh set of attempts (audited on the system chain). */
  retryDelivery(actor: Principal, id: string): Promise<DeliveryView> {
    return retryDeliveryNow(this.ctx, actor, id);
  }

  /**
   * `auto_apply`: apply (mode AUTO) on behalf of the creator as soon as the change-set is APPROVED.
   * A failed apply is audited and announced by apply itself; the change-set stays APPROVED.
   */
  private async autoApply(approved: ChangeSet): Promise<ChangeSet> {
    const creator = await findPrincipal(this.db, approved.created_by);
    if (!creator) return approved;
    try {
      await applyChangeSet(this.ctx, creator, approved.id, 'AUTO');
    } catch (error) {
      if (!(error instanceof LedgerError)) throw error;
    }
    return this.get(approved.id);
  }
}
