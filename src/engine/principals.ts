// Principals and tokens: admins manage them; tokens are random, shown once, stored as hashes.
// Every change is audited on the system chain. Successful token lookups may be cached briefly
// (TokenCache below); the Engine clears its cache on every change that could make one stale.
import { createHash, randomBytes } from 'node:crypto';
import { SYSTEM_ACTOR } from '../core/audit-chain.js';
import { adminMembershipChange, adminTokenRefusal, assertAdmin, kindChangeRefusal } from '../core/credentials.js';
import { defined } from '../core/defined.js';
import { LedgerError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { Queryable } from '../store/db.js';
import { isUniqueViolation } from '../store/errors.js';
import {
  authenticatingTokenHashes,
  findPrincipal,
  findPrincipalByTokenHash,
  insertPrincipal,
  insertToken,
  type PrincipalInput,
  revokeToken as revokeTokenRow,
  type TokenRow,
  updatePrincipal as updatePrincipalRow,
} from '../store/principals.js';
import { type EngineContext, inTransaction } from './context.js';
import { Journal } from './journal.js';

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
export const newToken = (): string => `clg_${randomBytes(32).toString('base64url')}`;

export interface IssuedToken {
  token_id: string;
  token: string;
  principal_id: string;
}

/** How a token came to be: an admin's request, an enrolment redeemed, a single sign-on, or the system (bootstrap, operator). */
export type TokenVia = 'admin' | 'enrolment' | 'sso' | 'system';

/** Refuses an admin's token for a human unless `auth.admin_may_issue_human_tokens` allows it. */
function assertMayIssueFor(ctx: EngineContext, actor: Principal | null, principal: Pick<Principal, 'id' | 'kind'>) {
  if (actor === null) return;
  const refusal = adminTokenRefusal(principal, ctx.config.auth.admin_may_issue_human_tokens);
  if (refusal) throw new LedgerError('FORBIDDEN', refusal);
}

/**
 * Stores a new token for `principalId` (only its hash) and records it: the `token.create` audit
 * entry and the `token.issued` event that tells the principal and the other admins.
 */
export async function storeToken(
  tx: Queryable,
  journal: Journal,
  issued: IssuedToken,
  name: string | null,
  via: TokenVia,
): Promise<void> {
  await insertToken(
    tx,
    {
      id: issued.token_id,
      principal_id: issued.principal_id,
      token_hash: hashToken(issued.token),
      name,
      created_by: journal.actor,
    },
    journal.at,
  );
  const facts = { token_id: issued.token_id, principal_id: issued.principal_id, name, via };
  journal.audit('token.create', facts).event('token.issued', facts);
}

/** The `principal.admin_granted` / `principal.admin_revoked` event, when groups changed admin membership. */
export function recordAdminChange(
  journal: Journal,
  principalId: string,
  before: readonly string[],
  after: readonly string[],
) {
  const change = adminMembershipChange(before, after);
  if (change) journal.event(`principal.admin_${change}`, { principal_id: principalId, groups: [...after] });
}

/**
 * Adds a principal. With an actor (an admin, over the API) a token comes with it for agents and
 * services only; a human gets `token: null` and an enrolment later, unless the configuration
 * allows admins to issue human tokens. Without an actor (bootstrap, the operator's CLI, tests)
 * `withToken` decides.
 */
export async function createPrincipal(
  ctx: EngineContext,
  actor: Principal | null,
  input: PrincipalInput,
  options: { withToken?: boolean; token?: string } = {},
): Promise<{ principal: Principal; token: IssuedToken | null }> {
  if (actor) assertAdmin(actor);
  const actorId = actor?.id ?? SYSTEM_ACTOR;
  const at = ctx.clock().toISOString();
  const withToken =
    options.withToken !== false &&
    (actor === null || adminTokenRefusal(input, ctx.config.auth.admin_may_issue_human_tokens) === null);
  return inTransaction(ctx, async (tx) => {
    let principal: Principal;
    try {
      principal = await insertPrincipal(tx, input, at);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new LedgerError('DUPLICATE', `principal ${input.id} already exists`, undefined, { cause: error });
      throw error;
    }
    const journal = new Journal(actorId, at).audit('principal.create', { ...input });
    recordAdminChange(journal, input.id, [], input.groups);
    let token: IssuedToken | null = null;
    if (withToken) {
      token = { token_id: ctx.newId(), token: options.token ?? newToken(), principal_id: input.id };
      await storeToken(tx, journal, token, null, actor ? 'admin' : 'system');
    }
    await journal.writeForSystem(tx, ctx.signer);
    return { principal, token };
  });
}

export async function updatePrincipal(
  ctx: EngineContext,
  actor: Principal,
  id: string,
  patch: Partial<Omit<PrincipalInput, 'id'>>,
): Promise<Principal> {
  assertAdmin(actor);
  const at = ctx.clock().toISOString();
  return inTransaction(ctx, async (tx) => {
    const current = await findPrincipal(tx, id);
    if (!current) throw new LedgerError('NOT_FOUND', `principal ${id} does not exist`);
    const refusal =
      patch.kind === undefined
        ? null
        : kindChangeRefusal(current, patch.kind, ctx.config.auth.admin_may_issue_human_tokens);
    if (refusal) throw new LedgerError('FORBIDDEN', refusal);
    const updated = await updatePrincipalRow(tx, { ...current, ...patch, id }, at);
    const journal = new Journal(actor.id, at).audit('principal.update', { id, ...patch });
    recordAdminChange(journal, id, current.groups, updated.groups);
    await journal.writeForSystem(tx, ctx.signer);
    return updated;
  });
}

/**
 * Issues a token. With an actor (an admin) only for agents and services, unless the configuration
 * allows humans too; without one (bootstrap, the operator's CLI, tests) for anyone.
 */
export async function issueToken(
  ctx: EngineContext,
  actor: Principal | null,
  principalId: string,
  name: string | null = null,
  token: string = newToken(),
): Promise<IssuedToken> {
  if (actor) assertAdmin(actor);
  const actorId = actor?.id ?? SYSTEM_ACTOR;
  const at = ctx.clock().toISOString();
  return inTransaction(ctx, async (tx) => {
    const principal = await findPrincipal(tx, principalId);
    if (!principal) throw new LedgerError('NOT_FOUND', `principal ${principalId} does not exist`);
    assertMayIssueFor(ctx, actor, principal);
    const issued = { token_id: ctx.newId(), token, principal_id: principalId };
    const journal = new Journal(actorId, at);
    await storeToken(tx, journal, issued, name, actor ? 'admin' : 'system');
    await journal.writeForSystem(tx, ctx.signer);
    return issued;
  });
}

export async function revokeToken(ctx: EngineContext, actor: Principal, tokenId: string): Promise<TokenRow> {
  assertAdmin(actor);
  const at = ctx.clock().toISOString();
  return inTransaction(ctx, async (tx) => {
    const row = await revokeTokenRow(tx, tokenId, at);
    if (!row) throw new LedgerError('NOT_FOUND', `token ${tokenId} does not exist`);
    await new Journal(actor.id, at)
      .audit('token.revoke', { token_id: tokenId, principal_id: row.principal_id })
      .writeForSystem(tx, ctx.signer);
    return row;
  });
}

/** The most entries a TokenCache keeps; beyond it the oldest goes. */
const TOKEN_CACHE_MAX_ENTRIES = 10_000;

/** Where a lookup began: the cache's generation, and the monotonic time. */
export interface CacheLookup {
  generation: number;
  at: number;
}

/**
 * Token hash → principal, kept `ttlMs` (monotonic clock) after a successful lookup so that a
 * request does not pay a query for its bearer token. Positive-only: an unknown, revoked or
 * inactive token is never kept, so a token created a moment ago (by the CLI, another instance)
 * works at once. Bounded: beyond `maxEntries` the oldest entry goes. Keys are hashes, never
 * tokens. Entries are frozen copies, so no caller can change what another one is given.
 *
 * The trade-off: a token revoked, or a principal deactivated or changed, by another server
 * instance (or straight in the database) still authenticates here for up to `ttlMs`. Changes
 * made through this instance's Engine call clear(), so those take effect at once. `ttlMs` 0
 * turns the cache off.
 */
export class TokenCache {
  private readonly entries = new Map<string, { principal: Principal; expires: number }>();
  /** Bumped by clear(): a lookup that started before a clear must not store what it read. */
  private generation = 0;

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number = TOKEN_CACHE_MAX_ENTRIES,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0 && this.maxEntries > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Marks the start of a lookup: hand it to set() once the lookup has finished. */
  begin(): CacheLookup {
    return { generation: this.generation, at: this.now() };
  }

  get(tokenHash: string): Principal | undefined {
    const entry = this.entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (this.now() < entry.expires) return entry.principal;
    this.entries.delete(tokenHash);
    return undefined;
  }

  /**
   * Keeps `principal` for `tokenHash` and returns the frozen copy kept (or, when nothing is kept,
   * a frozen copy all the same). Nothing is kept when the cache was cleared since `lookup` began,
   * since what the lookup read may predate the change that cleared it. The entry's life counts
   * from the lookup's start, so nothing is served longer than ttlMs after it was read.
   */
  set(tokenHash: string, principal: Principal, lookup: CacheLookup): Principal {
    const frozen = Object.freeze({ ...principal, groups: Object.freeze([...principal.groups]) as string[] });
    if (!this.enabled || lookup.generation !== this.generation) return frozen;
    this.entries.delete(tokenHash);
    // A Map keeps insertion order and every entry lives ttlMs: the first one is the oldest.
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(tokenHash, { principal: frozen, expires: lookup.at + this.ttlMs });
    return frozen;
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
  }
}

/**
 * Of these bearer tokens, those that still authenticate, asked of the database (never the cache):
 * one query for all of them. Open event streams are re-validated with it.
 */
export async function stillAuthenticating(ctx: EngineContext, tokens: readonly string[]): Promise<Set<string>> {
  const byHash = new Map(tokens.map((token) => [hashToken(token), token]));
  const valid = await authenticatingTokenHashes(ctx.db, [...byHash.keys()]);
  return new Set([...valid].map((tokenHash) => defined(byHash.get(tokenHash), 'token of a hash asked for')));
}

/**
 * The active principal a bearer token belongs to, or null. Lookup is by hash: nothing to time.
 * With a cache, a token seen within its TTL costs no query.
 */
export async function authenticate(ctx: EngineContext, token: string, cache?: TokenCache): Promise<Principal | null> {
  if (!token) return null;
  const tokenHash = hashToken(token);
  if (!cache?.enabled) return findPrincipalByTokenHash(ctx.db, tokenHash);
  const cached = cache.get(tokenHash);
  if (cached !== undefined) return cached;
  const lookup = cache.begin();
  const found = await findPrincipalByTokenHash(ctx.db, tokenHash);
  return found ? cache.set(tokenHash, found, lookup) : null;
}
