// One-time enrolments: how a human gets a token that no admin ever held. An admin creates one for a
// principal and hands its code over; the code is shown once, kept only as its hash, and redeemed
// once, without a token, for a new token of that principal. The redemption is audited and emits
// `token.issued` (via enrolment), routed to the principal's own contacts and to the admins, so a
// code redeemed by anyone but its owner does not go unseen (docs/identity.md).
import { randomBytes } from 'node:crypto';
import { SYSTEM_ACTOR } from '../core/audit-chain.js';
import { assertAdmin } from '../core/credentials.js';
import { LedgerError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import { claimEnrolment, findEnrolmentByCodeHash, insertEnrolment, setEnrolmentToken } from '../store/enrolments.js';
import { findPrincipal } from '../store/principals.js';
import { type EngineContext, inTransaction } from './context.js';
import { Journal } from './journal.js';
import { hashToken, type IssuedToken, newToken, storeToken } from './principals.js';

export interface CreatedEnrolment {
  enrolment_id: string;
  principal_id: string;
  /** Shown once: only its hash is stored. */
  code: string;
  expires_at: string;
}

const newCode = (): string => `clge_${randomBytes(32).toString('base64url')}`;

/** An enrolment for `principalId`, by an admin (or, with a null actor, the operator's CLI). */
export async function createEnrolment(
  ctx: EngineContext,
  actor: Principal | null,
  principalId: string,
): Promise<CreatedEnrolment> {
  if (actor) assertAdmin(actor);
  const actorId = actor?.id ?? SYSTEM_ACTOR;
  const now = ctx.clock();
  const at = now.toISOString();
  const expiresAt = new Date(now.getTime() + ctx.config.auth.enrolment_ttl_hours * 3_600_000).toISOString();
  return inTransaction(ctx, async (tx) => {
    const principal = await findPrincipal(tx, principalId);
    if (!principal) throw new LedgerError('NOT_FOUND', `principal ${principalId} does not exist`);
    if (!principal.active) throw new LedgerError('FORBIDDEN', `principal ${principalId} is inactive`);
    const code = newCode();
    const row = await insertEnrolment(
      tx,
      {
        id: ctx.newId(),
        principal_id: principalId,
        code_hash: hashToken(code),
        created_by: actorId,
        expires_at: expiresAt,
      },
      at,
    );
    await new Journal(actorId, at)
      .audit('enrolment.create', { enrolment_id: row.id, principal_id: principalId, expires_at: expiresAt })
      .writeForSystem(tx, ctx.signer);
    return { enrolment_id: row.id, principal_id: principalId, code, expires_at: expiresAt };
  });
}

/**
 * Redeems a code for a new token of its principal, once. The caller is not authenticated: the code
 * is the credential. `client` (the caller's address) goes into the audit entry.
 */
export async function redeemEnrolment(
  ctx: EngineContext,
  code: string,
  client: { ip: string | null } = { ip: null },
): Promise<IssuedToken> {
  const at = ctx.clock().toISOString();
  const codeHash = hashToken(code);
  return inTransaction(ctx, async (tx) => {
    const enrolment = await claimEnrolment(tx, codeHash, at);
    if (!enrolment) {
      const known = await findEnrolmentByCodeHash(tx, codeHash);
      if (!known) throw new LedgerError('NOT_FOUND', 'no enrolment has this code');
      throw new LedgerError(
        'GONE',
        known.redeemed_at !== null
          ? `this enrolment code was redeemed at ${known.redeemed_at}: a code works once; ask an admin for a new enrolment`
          : `this enrolment code expired at ${known.expires_at}: ask an admin for a new enrolment`,
      );
    }
    const principal = await findPrincipal(tx, enrolment.principal_id);
    if (!principal?.active) throw new LedgerError('FORBIDDEN', `principal ${enrolment.principal_id} is inactive`);
    const issued = { token_id: ctx.newId(), token: newToken(), principal_id: principal.id };
    // The principal enrolled is the actor: the code was its credential.
    const journal = new Journal(principal.id, at).audit('enrolment.redeem', {
      enrolment_id: enrolment.id,
      principal_id: principal.id,
      token_id: issued.token_id,
      created_by: enrolment.created_by,
      client_ip: client.ip,
    });
    await storeToken(tx, journal, issued, `enrolment ${enrolment.id}`, 'enrolment');
    await setEnrolmentToken(tx, enrolment.id, issued.token_id);
    await journal.writeForSystem(tx, ctx.signer);
    return issued;
  });
}
