// Principals and tokens: admins manage them; tokens are random, shown once, stored as hashes.
// Every change is audited on the system chain. Successful token lookups may be cached briefly
// (TokenCache below); the Engine clears its cache on every change that could make one stale.
import { createHash, randomBytes } from 'node:crypto';
import { ADMIN_GROUP } from '../core/approvals.js';
import { LedgerError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
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
const newToken = (): string => `clg_${randomBytes(32).toString('base64url')}`;

export function assertAdmin(actor: Principal): void {
  if (!actor.active || !actor.groups.includes(ADMIN_GROUP)) {
    throw new LedgerError('FORBIDDEN', `managing principals and tokens is for group ${ADMIN_GROUP}`);
  }
}

export interface IssuedToken {
  token_id: string;
  token: string;
  principal_id: string;
}

export async function createPrincipal(
  ctx: EngineContext,
  actor: Principal | null,
  input: PrincipalInput,
  options: { withToken?: boolean; token?: string } = {},
): Promise<{ principal: Principal; token: IssuedToken | null }> {
  if (actor) assertAdmin(actor);
  const actorId = actor?.id ?? 'system';
  const at = ctx.clock().toISOString();
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
    let token: IssuedToken | null = null;
    if (options.withToken !== false) {
      token = { token_id: ctx.newId(), token: options.token ?? newToken(), principal_id: input.id };
      await insertToken(
        tx,
        {
          id: token.token_id,
          principal_id: input.id,
          token_hash: hashToken(token.token),
          name: null,
          created_by: actorId,
        },
        at,
      );
      journal.audit('token.create', { token_id: token.token_id, principal_id: input.id });
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
    const updated = await updatePrincipalRow(tx, { ...current, ...patch, id }, at);
    await new Journal(actor.id, at).audit('principal.update', { id, ...patch }).writeForSystem(tx, ctx.signer);
    return updated;
  });
}

export async function issueToken(
  ctx: EngineContext,
  actor: Principal | null,
  principalId: string,
  name: string | null = null,
  token: string = newToken(),
): Promise<IssuedToken> {
  if (actor) assertAdmin(actor);
  const actorId = actor?.id ?? 'system';
  const at = ctx.clock().toISOString();
  return inTransaction(ctx, async (tx) => {
    if (!(await findPrincipal(tx, principalId)))
      throw new LedgerError('NOT_FOUND', `principal ${principalId} does not exist`);
    const issued = { token_id: ctx.newId(), token, principal_id: principalId };
    await insertToken(
      tx,
      {
        id: issued.token_id,
        principal_id: principalId,
        token_hash: hashToken(issued.token),
        name,
        created_by: actorId,
      },
      at,
    );
    await new Journal(actorId, at)
      .audit('token.create', { token_id: issued.token_id, principal_id: principalId, name })
      .writeForSystem(tx, ctx.signer);
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
export const TOKEN_CACHE_MAX_ENTRIES = 10_000;

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
  return new Set([...valid].map((tokenHash) => byHash.get(tokenHash)!));
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
