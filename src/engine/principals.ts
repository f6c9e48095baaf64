// Principals and tokens: admins manage them; tokens are random, shown once, stored as hashes.
// Every change is audited on the system chain.
import { createHash, randomBytes } from 'node:crypto';
import { ADMIN_GROUP } from '../core/approvals.js';
import { LedgerError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import { isUniqueViolation } from '../store/errors.js';
import {
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
    await journal.writeForSystem(tx);
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
    await new Journal(actor.id, at).audit('principal.update', { id, ...patch }).writeForSystem(tx);
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
      .writeForSystem(tx);
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
      .writeForSystem(tx);
    return row;
  });
}

/** The active principal a bearer token belongs to, or null. Lookup is by hash: nothing to time. */
export async function authenticate(ctx: EngineContext, token: string): Promise<Principal | null> {
  if (!token) return null;
  return findPrincipalByTokenHash(ctx.db, hashToken(token));
}
