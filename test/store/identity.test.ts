// store/principals.ts, enrolments.ts and idempotency.ts on both backends: principals and their
// tokens (kept as hashes), one-time enrolment codes redeemed at most once, and idempotency keys
// claimed once, completed with their response, released when refused and reclaimed when expired.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import {
  claimEnrolment,
  findEnrolmentByCodeHash,
  insertEnrolment,
  setEnrolmentToken,
} from '../../src/store/enrolments.js';
import { claimKey, completeKey, releaseKey } from '../../src/store/idempotency.js';
import {
  authenticatingTokenHashes,
  findCandidates,
  findPrincipal,
  findPrincipalByTokenHash,
  findPrincipalsByEmail,
  insertPrincipal,
  insertToken,
  listPrincipals,
  type PrincipalInput,
  revokeToken,
  updatePrincipal,
} from '../../src/store/principals.js';
import { describeEachBackend } from '../helpers/backends.js';

const AT = '2026-11-25T10:00:00.000Z';
let n = 0;
const principal = (extra: Partial<PrincipalInput> = {}): PrincipalInput => ({
  id: `p-${++n}-${randomUUID().slice(0, 8)}`,
  kind: 'human',
  display_name: 'Someone',
  email: null,
  slack_id: null,
  groups: [],
  risk: null,
  active: true,
  ...extra,
});

describeEachBackend('store: principals, enrolments, idempotency', (backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(() => db.close());

  it('inserts, finds, updates and lists principals', async () => {
    const input = principal({ email: 'Mixed@Example.com', groups: ['ops', 'admin'], risk: 40 });
    const { id, ...fields } = input;
    expect(await insertPrincipal(db, input, AT)).toEqual({ id, ...fields });
    expect(await findPrincipal(db, id)).toEqual(input);
    expect(await findPrincipal(db, 'nobody')).toBeNull();
    const updated = { ...input, display_name: 'Renamed', groups: [], active: false };
    expect(await updatePrincipal(db, updated, AT)).toEqual(updated);
    const ids = (await listPrincipals(db)).map((p) => p.id);
    expect(ids).toContain(id);
    expect(ids).toEqual([...ids].sort());
    expect((await findPrincipalsByEmail(db, 'mixed@EXAMPLE.com')).map((p) => p.id)).toEqual([id]);
  });

  it('finds active candidates named directly or through a group', async () => {
    const [named, grouped, inactive, other] = [
      principal(),
      principal({ groups: ['reviewers'] }),
      principal({ groups: ['reviewers'], active: false }),
      principal({ groups: ['elsewhere'] }),
    ];
    for (const p of [named, grouped, inactive, other]) await insertPrincipal(db, p, AT);
    const found = await findCandidates(db, [named.id, inactive.id], ['reviewers']);
    expect(found.map((p) => p.id).sort()).toEqual([named.id, grouped.id].sort());
  });

  it('authenticates unrevoked tokens of active principals only; a revoke keeps its first time', async () => {
    const owner = principal();
    await insertPrincipal(db, owner, AT);
    const token = {
      id: randomUUID(),
      principal_id: owner.id,
      token_hash: `h-${randomUUID()}`,
      name: 'ci',
      created_by: 'root',
    };
    await insertToken(db, token, AT);
    expect((await findPrincipalByTokenHash(db, token.token_hash))?.id).toBe(owner.id);
    expect(await authenticatingTokenHashes(db, [token.token_hash, 'unknown'])).toEqual(new Set([token.token_hash]));
    expect(await authenticatingTokenHashes(db, [])).toEqual(new Set());

    await updatePrincipal(db, { ...owner, active: false }, AT);
    expect(await findPrincipalByTokenHash(db, token.token_hash)).toBeNull();
    await updatePrincipal(db, owner, AT);

    const revoked = await revokeToken(db, token.id, '2026-11-26T00:00:00.000Z');
    expect(revoked).toEqual({
      id: token.id,
      principal_id: owner.id,
      name: 'ci',
      created_at: AT,
      created_by: 'root',
      revoked_at: '2026-11-26T00:00:00.000Z',
    });
    expect((await revokeToken(db, token.id, '2026-11-27T00:00:00.000Z'))!.revoked_at).toBe('2026-11-26T00:00:00.000Z');
    expect(await revokeToken(db, 'no-such-token', AT)).toBeNull();
    expect(await findPrincipalByTokenHash(db, token.token_hash)).toBeNull();
    expect(await authenticatingTokenHashes(db, [token.token_hash])).toEqual(new Set());
  });

  it('redeems an enrolment code once, before it expires, and links the token it issued', async () => {
    const owner = principal();
    await insertPrincipal(db, owner, AT);
    const e = {
      id: randomUUID(),
      principal_id: owner.id,
      code_hash: `c-${randomUUID()}`,
      created_by: 'root',
      expires_at: '2026-11-25T11:00:00.000Z',
    };
    const inserted = await insertEnrolment(db, e, AT);
    expect(inserted).toEqual({
      id: e.id,
      principal_id: owner.id,
      created_at: AT,
      created_by: 'root',
      expires_at: e.expires_at,
      redeemed_at: null,
      token_id: null,
    });
    expect(await claimEnrolment(db, e.code_hash, '2026-11-25T11:00:00.000Z')).toBeNull();
    const claimed = await claimEnrolment(db, e.code_hash, '2026-11-25T10:30:00.000Z');
    expect(claimed).toMatchObject({ id: e.id, redeemed_at: '2026-11-25T10:30:00.000Z' });
    expect(await claimEnrolment(db, e.code_hash, '2026-11-25T10:31:00.000Z')).toBeNull();
    const token = {
      id: randomUUID(),
      principal_id: owner.id,
      token_hash: `h-${randomUUID()}`,
      name: null,
      created_by: owner.id,
    };
    await insertToken(db, token, AT);
    await setEnrolmentToken(db, e.id, token.id);
    expect(await findEnrolmentByCodeHash(db, e.code_hash)).toEqual({ ...claimed, token_id: token.id });
    expect(await findEnrolmentByCodeHash(db, 'unknown')).toBeNull();
  });

  it('claims an idempotency key once, answers the stored response, releases refusals, reclaims expired keys', async () => {
    const claim = { principal_id: 'alice', key: randomUUID(), request_hash: 'r1', now: AT, ttl_hours: 24 };
    expect(await claimKey(db, claim)).toBeNull();
    expect(await claimKey(db, claim)).toEqual({ request_hash: 'r1', status_code: null, response: null });
    await completeKey(db, 'alice', claim.key, 201, { id: 'x', list: [1] });
    expect(await claimKey(db, { ...claim, request_hash: 'r2' })).toEqual({
      request_hash: 'r1',
      status_code: 201,
      response: { id: 'x', list: [1] },
    });
    // Another principal's key of the same name is its own.
    expect(await claimKey(db, { ...claim, principal_id: 'bob' })).toBeNull();
    // A completed key is not released; an unfinished one is.
    await releaseKey(db, 'alice', claim.key);
    expect((await claimKey(db, claim))?.status_code).toBe(201);
    await releaseKey(db, 'bob', claim.key);
    expect(await claimKey(db, { ...claim, principal_id: 'bob' })).toBeNull();
    // After the TTL the key is claimed afresh.
    expect(await claimKey(db, { ...claim, now: '2026-11-26T10:00:00.001Z', request_hash: 'r3' })).toBeNull();
    expect(await claimKey(db, claim)).toMatchObject({ request_hash: 'r3', status_code: null });
  });
});
