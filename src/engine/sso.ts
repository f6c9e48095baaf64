// Single sign-on: a person the identity provider vouched for gets a token of their own. The
// provider's claims name the principal (an existing human, or a new one when auto_create is on),
// its groups follow the provider's through the configured map, and the token is issued like an
// enrolment's: the principal is the actor, `token.create` on the system chain, `token.issued`
// (via sso) to the person and the admins (docs/identity.md).
import { ssoGroups } from '../core/credentials.js';
import { LedgerError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { Queryable } from '../store/db.js';
import { isUniqueViolation } from '../store/errors.js';
import { findPrincipal, findPrincipalsByEmail, insertPrincipal, updatePrincipal } from '../store/principals.js';
import { type EngineContext, inTransaction } from './context.js';
import { Journal } from './journal.js';
import { type IssuedToken, newToken, recordAdminChange, storeToken } from './principals.js';

export interface SsoOptions {
  /** The claim naming the principal: `email` matches a principal's email, any other claim its id. */
  principal_claim: string;
  groups_claim: string;
  group_map: Readonly<Record<string, string>>;
  auto_create: boolean;
}

/** The verified ID token's claims, and where they came from. */
export interface SsoIdentity {
  issuer: string;
  claims: Readonly<Record<string, unknown>>;
}

function claimedName(identity: SsoIdentity, options: SsoOptions): string {
  const value = identity.claims[options.principal_claim];
  if (typeof value !== 'string' || value === '')
    throw new LedgerError(
      'FORBIDDEN',
      `the identity provider sent no ${options.principal_claim} claim to sign in with`,
    );
  if (options.principal_claim === 'email' && identity.claims.email_verified === false)
    throw new LedgerError('FORBIDDEN', `the identity provider has not verified the email ${value}`);
  return value;
}

async function findByClaim(tx: Queryable, name: string, options: SsoOptions): Promise<Principal | null> {
  if (options.principal_claim !== 'email') return findPrincipal(tx, name);
  const found = await findPrincipalsByEmail(tx, name);
  if (found.length > 1)
    throw new LedgerError(
      'FORBIDDEN',
      `${found.length} principals have the email ${name} (${found.map((p) => p.id).join(', ')}): an admin must leave one`,
    );
  return found[0] ?? null;
}

function claimedGroups(identity: SsoIdentity, options: SsoOptions): string[] {
  const value = identity.claims[options.groups_claim];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** The principal the identity names, created when allowed; refused clearly otherwise. */
async function principalFor(
  tx: Queryable,
  identity: SsoIdentity,
  options: SsoOptions,
  found: { name: string; known: Principal | null },
  journal: Journal,
): Promise<Principal> {
  const { name, known } = found;
  const groups = claimedGroups(identity, options);
  if (known) {
    if (known.kind !== 'human')
      throw new LedgerError(
        'FORBIDDEN',
        `principal ${known.id} is of kind ${known.kind}: single sign-on is for people`,
      );
    if (!known.active) throw new LedgerError('FORBIDDEN', `principal ${known.id} is inactive`);
    const after = ssoGroups(known.groups, groups, options.group_map);
    if (after.join('\n') === known.groups.join('\n')) return known;
    const updated = await updatePrincipal(tx, { ...known, groups: after }, journal.at);
    journal.audit('principal.update', { id: known.id, groups: after, via: 'sso' });
    recordAdminChange(journal, known.id, known.groups, after);
    return updated;
  }
  if (!options.auto_create)
    throw new LedgerError(
      'FORBIDDEN',
      `no principal has ${options.principal_claim} ${name}: an admin adds one (kind human), or turns on oidc.auto_create`,
    );
  const email = typeof identity.claims.email === 'string' ? identity.claims.email : null;
  const input = {
    id: name,
    kind: 'human' as const,
    display_name: typeof identity.claims.name === 'string' ? identity.claims.name : null,
    email: options.principal_claim === 'email' || identity.claims.email_verified !== false ? email : null,
    slack_id: null,
    groups: ssoGroups([], groups, options.group_map),
    risk: null,
    active: true,
  };
  let created: Principal;
  try {
    created = await insertPrincipal(tx, input, journal.at);
  } catch (error) {
    // Two first sign-ins at once: one creates the principal, the other signs in again.
    if (isUniqueViolation(error))
      throw new LedgerError('CONFLICT', `principal ${name} was just created: sign in again`, undefined, {
        cause: error,
      });
    throw error;
  }
  journal.audit('principal.create', { ...input, via: 'sso' });
  recordAdminChange(journal, input.id, [], input.groups);
  return created;
}

/** Signs in the person `identity` names: a new token of theirs, audited and announced. */
export async function signInWithSso(
  ctx: EngineContext,
  identity: SsoIdentity,
  options: SsoOptions,
  client: { ip: string | null } = { ip: null },
): Promise<IssuedToken> {
  const at = ctx.clock().toISOString();
  return inTransaction(ctx, async (tx) => {
    // The actor is the person signing in, as with an enrolment: the provider vouched for them.
    const name = claimedName(identity, options);
    const known = await findByClaim(tx, name, options);
    const journal = new Journal(known?.id ?? name, at);
    const principal = await principalFor(tx, identity, options, { name, known }, journal);
    const issued = { token_id: ctx.newId(), token: newToken(), principal_id: principal.id };
    journal.audit('sso.sign_in', {
      principal_id: principal.id,
      token_id: issued.token_id,
      issuer: identity.issuer,
      subject: typeof identity.claims.sub === 'string' ? identity.claims.sub : null,
      client_ip: client.ip,
    });
    await storeToken(tx, journal, issued, `sso ${identity.issuer}`, 'sso');
    await journal.writeForSystem(tx, ctx.signer);
    return issued;
  });
}
