// Queries on principals and their tokens (stored only as hashes).
import { DECIDING_STATUS, GROUP_PREFIX } from '../core/approvals.js';
import { defined } from '../core/defined.js';
import type { Principal, PrincipalKind } from '../core/types.js';
import { iso, type Queryable } from './db.js';

const COLUMNS = 'id, kind, display_name, email, slack_id, groups, risk, active';

export async function findPrincipal(db: Queryable, id: string): Promise<Principal | null> {
  const { rows } = await db.query<Principal>(`SELECT ${COLUMNS} FROM principals WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function listPrincipals(db: Queryable): Promise<Principal[]> {
  const { rows } = await db.query<Principal>(`SELECT ${COLUMNS} FROM principals ORDER BY id`);
  return rows;
}

/** Every approver entry of change-set `c`'s steps (principal ids and `group:NAME`), as rows `e`. */
const STEP_ENTRIES = `jsonb_array_elements(c.approval_steps) s, jsonb_array_elements_text(s->'approvers') e`;

/**
 * A subquery of change-set `c`: while it awaits decisions, the active principals its steps name
 * directly or through a group (findCandidates' audience), as a JSON array of DeciderCandidate —
 * id, kind, display name, groups, active, never contacts; otherwise an empty array. Who of them
 * may decide which step is core/approvals.ts's rule (stepDeciders), not this query's. In id order,
 * so that its text is the same for the same principals (a key of the view cache, engine/reads.ts).
 */
export const STEP_CANDIDATES = `(SELECT coalesce(json_agg(json_build_object('id', p.id, 'kind', p.kind,
    'display_name', p.display_name, 'groups', p.groups, 'active', p.active) ORDER BY p.id), '[]'::json)
  FROM principals p
  WHERE c.status = '${DECIDING_STATUS}' AND p.active
    AND (p.id IN (SELECT e FROM ${STEP_ENTRIES})
      OR p.groups && ARRAY(SELECT substr(e, ${GROUP_PREFIX.length + 1}) FROM ${STEP_ENTRIES}
        WHERE left(e, ${GROUP_PREFIX.length}) = '${GROUP_PREFIX}')))`;

/** Active principals named directly or through one of the groups. */
export async function findCandidates(
  db: Queryable,
  ids: readonly string[],
  groups: readonly string[],
): Promise<Principal[]> {
  const { rows } = await db.query<Principal>(
    `SELECT ${COLUMNS} FROM principals WHERE active AND (id = ANY($1::text[]) OR groups && $2::text[]) ORDER BY id`,
    [ids, groups],
  );
  return rows;
}

export interface PrincipalInput {
  id: string;
  kind: PrincipalKind;
  display_name: string | null;
  email: string | null;
  slack_id: string | null;
  groups: string[];
  risk: number | null;
  active: boolean;
}

export async function insertPrincipal(db: Queryable, p: PrincipalInput, at: string): Promise<Principal> {
  const { rows } = await db.query<Principal>(
    `INSERT INTO principals (id, kind, display_name, email, slack_id, groups, risk, active, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING ${COLUMNS}`,
    [p.id, p.kind, p.display_name, p.email, p.slack_id, p.groups, p.risk, p.active, at],
  );
  return defined(rows[0], 'inserted principal');
}

export async function updatePrincipal(db: Queryable, p: PrincipalInput, at: string): Promise<Principal> {
  const { rows } = await db.query<Principal>(
    `UPDATE principals SET kind = $2, display_name = $3, email = $4, slack_id = $5, groups = $6, risk = $7,
       active = $8, updated_at = $9 WHERE id = $1 RETURNING ${COLUMNS}`,
    [p.id, p.kind, p.display_name, p.email, p.slack_id, p.groups, p.risk, p.active, at],
  );
  return defined(rows[0], `updated principal ${p.id}`);
}

export interface TokenRow {
  id: string;
  principal_id: string;
  name: string | null;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

export async function insertToken(
  db: Queryable,
  token: { id: string; principal_id: string; token_hash: string; name: string | null; created_by: string },
  at: string,
): Promise<void> {
  await db.query(
    'INSERT INTO tokens (id, principal_id, token_hash, name, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)',
    [token.id, token.principal_id, token.token_hash, token.name, at, token.created_by],
  );
}

export async function revokeToken(db: Queryable, id: string, at: string): Promise<TokenRow | null> {
  const { rows } = await db.query<Record<string, unknown>>(
    `UPDATE tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1
     RETURNING id, principal_id, name, created_at, created_by, revoked_at`,
    [id, at],
  );
  const row = rows[0];
  return row
    ? ({ ...row, created_at: iso(row['created_at']), revoked_at: iso(row['revoked_at'], true) } as TokenRow)
    : null;
}

/** The active principal owning an unrevoked token with this hash. */
export async function findPrincipalByTokenHash(db: Queryable, tokenHash: string): Promise<Principal | null> {
  const { rows } = await db.query<Principal>(
    `SELECT p.id, p.kind, p.display_name, p.email, p.slack_id, p.groups, p.risk, p.active
     FROM tokens t JOIN principals p ON p.id = t.principal_id
     WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND p.active`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

/** Of these token hashes, those that still authenticate: unrevoked, of an active principal. One query. */
export async function authenticatingTokenHashes(db: Queryable, tokenHashes: readonly string[]): Promise<Set<string>> {
  if (tokenHashes.length === 0) return new Set();
  const { rows } = await db.query<{ token_hash: string }>(
    `SELECT t.token_hash FROM tokens t JOIN principals p ON p.id = t.principal_id
     WHERE t.token_hash = ANY($1::text[]) AND t.revoked_at IS NULL AND p.active`,
    [tokenHashes],
  );
  return new Set(rows.map((row) => row.token_hash));
}

/** Principals whose email is `email`, compared without case (a person's address at a provider). */
export async function findPrincipalsByEmail(db: Queryable, email: string): Promise<Principal[]> {
  const { rows } = await db.query<Principal>(
    `SELECT ${COLUMNS} FROM principals WHERE lower(email) = lower($1::text) ORDER BY id`,
    [email],
  );
  return rows;
}

/** The active principals whose Slack user id is `slackId` (more than one is a misconfiguration). */
export async function findPrincipalsBySlackId(db: Queryable, slackId: string): Promise<Principal[]> {
  const { rows } = await db.query<Principal>(
    `SELECT ${COLUMNS} FROM principals WHERE slack_id = $1 AND active ORDER BY id LIMIT 2`,
    [slackId],
  );
  return rows;
}
