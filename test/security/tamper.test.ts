// Tamper evidence beyond the audit table (docs/security.md): someone with database superuser
// rights rewrites entries and recomputes every hash, or writes state rows (an approval, a status, a
// resource version) behind the engine's back. Each attack is done with raw SQL through the Db,
// shown to pass a hash-only check, then shown reported by verify, exactly.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, GENESIS_HASH, hashEntry } from '../../src/core/audit-chain.js';
import { adoptUnsignedHeads, verifyAudit } from '../../src/engine/audit.js';
import { AuditSigner } from '../../src/engine/audit-signer.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';

const newSigner = () => new AuditSigner(generateKeyPairSync('ed25519').privateKey);

/** Runs `sql` with the append-only trigger off, as a superuser can. */
async function asSuperuser(db: Db, sql: string, params: unknown[] = []): Promise<void> {
  await db.query('ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only');
  try {
    await db.query(sql, params);
  } finally {
    await db.query('ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only');
  }
}

/** Rewrites entry `position` of a chain with `edit`, recomputes every hash after it and the head. */
async function rewriteChain(
  db: Db,
  entries: readonly AuditEntry[],
  position: number,
  edit: (entry: AuditEntry) => AuditEntry,
): Promise<string> {
  let prev = GENESIS_HASH;
  for (const original of entries) {
    const entry = original.chain_seq === position ? edit(original) : original;
    const hash = hashEntry(prev, entry);
    await asSuperuser(
      db,
      'UPDATE audit_entries SET actor = $2, data = $3::jsonb, prev_hash = $4, hash = $5 WHERE seq = $1',
      [entry.seq, entry.actor, JSON.stringify(entry.data), prev, hash],
    );
    prev = hash;
  }
  return prev;
}

describeEachBackend('tamper evidence', (backend) => {
  let f: Fixture;
  let signer: AuditSigner;
  let applied: string;
  let rejected: string;

  beforeAll(async () => {
    signer = newSigner();
    f = await makeFixture(await backend.open(), undefined, { signer });
    const a = f.p['Agent-D']!;
    // Every kind of action: approve and apply, reject and reopen, roll back, auto-approve, deadline
    // notices, principal and token changes.
    const cs = await f.engine.create(a, configChange());
    applied = cs.id;
    await f.engine.submit(a, applied);
    await f.engine.decide(f.p['alice']!, applied, { decision: 'APPROVED' });
    await f.engine.apply(f.p['olga']!, applied, {});
    const other = await f.engine.create(a, configChange());
    rejected = other.id;
    await f.engine.submit(a, rejected);
    await f.engine.decide(f.p['alice']!, rejected, { decision: 'REJECTED', reason: 'no' });
    await f.engine.reopen(a, rejected);
    await f.engine.submit(a, rejected);
    f.clock.advance(30 * 3_600_000);
    await f.engine.runDeadlines();
    await f.engine.decide(f.p['alice']!, rejected, { decision: 'APPROVED' });
    await f.engine.apply(f.p['olga']!, rejected, {});
    await f.engine.rollback(f.p['olga']!, rejected, { reason: 'undo' });
    await f.engine.create(f.p['Agent-A']!, uiButton());
    await f.engine.issueToken(f.p['root']!, 'Agent-B');
    await f.engine.updatePrincipal(f.p['root']!, 'bob', { groups: ['operator'] });
  });
  afterAll(() => f.db.close());

  describe('a clean history', () => {
    it('verifies ok, every chain head signed with the key', async () => {
      const result = await f.engine.verifyAudit();
      expect(result).toMatchObject({ ok: true, first_break: null, findings: [], findings_count: 0 });
      expect(result.signatures).toEqual({ checked: true, key_id: signer.keyId, signed: 4, unsigned: 0, invalid: 0 });
    });

    it('journals the resource versions each apply and rollback wrote', async () => {
      const entries = await f.engine.audit(rejected);
      const writes = entries.filter((e) => e.action === 'apply' || e.action === 'rollback');
      expect(writes.map((e) => (e.data as { written: unknown[] }).written.map((w) => (w as unknown[])[2]))).toEqual([
        [1],
        [2],
      ]);
    });
  });

  describe('rewritten entries with recomputed hashes', () => {
    it('pass a hash-only check but not the head signature', async () => {
      const entries = await f.engine.audit(applied);
      const decision = entries.find((e) => e.action === 'decision')!;
      const head = await rewriteChain(f.db, entries, decision.chain_seq, (e) => ({
        ...e,
        data: { ...(e.data as object), reason: 'looked fine to me' },
      }));
      await f.db.query('UPDATE change_sets SET audit_head = $2 WHERE id = $1', [applied, head]);

      // The attack as it stood before signatures: every hash recomputes, the state is untouched.
      const unsigned = await verifyAudit(f.db, null);
      expect(unsigned).toMatchObject({ ok: true, first_break: null, findings: [] });

      const result = await f.engine.verifyAudit();
      expect(result.ok).toBe(false);
      expect(result.first_break).toBeNull();
      const cs = await f.engine.get(applied);
      expect(result.findings).toEqual([
        {
          kind: 'bad_signature',
          chain: applied,
          change_set_id: cs.change_set_id,
          message: `the signature of the chain head (entry ${entries.length}) does not match it`,
        },
      ]);
      expect(result.signatures).toMatchObject({ signed: 3, invalid: 1, unsigned: 0 });

      // The next action extends the forged chain, but does not sign over it: the head stays flagged.
      await f.engine.rollback(f.p['olga']!, applied, { reason: 'launder' });
      const after = await f.engine.verifyAudit();
      expect(after.findings).toEqual([
        {
          kind: 'unsigned_head',
          chain: applied,
          change_set_id: cs.change_set_id,
          message: `the chain head (entry ${entries.length + 1}) is not signed`,
        },
      ]);
    });

    it('on the system chain, are caught the same way', async () => {
      const { rows } = await f.db.query<Record<string, unknown>>(
        "SELECT * FROM audit_entries WHERE chain = 'system' ORDER BY chain_seq",
      );
      const entries = rows.map((r) => ({ ...r, at: new Date(r['at'] as string).toISOString() }) as AuditEntry);
      const token = entries.find((e) => e.action === 'token.create')!;
      const head = await rewriteChain(f.db, entries, token.chain_seq, (e) => ({ ...e, actor: 'bob' }));
      await f.db.query("UPDATE audit_heads SET head = $1 WHERE chain = 'system'", [head]);
      const result = await f.engine.verifyAudit();
      expect(result.first_break).toBeNull();
      expect(result.findings).toContainEqual({
        kind: 'bad_signature',
        chain: 'system',
        change_set_id: null,
        message: `the signature of the chain head (entry ${entries.length}) does not match it`,
      });
    });
  });

  describe('state rows written behind the engine', () => {
    let g: Fixture;
    beforeAll(async () => {
      g = await makeFixture(await backend.open(), undefined, { signer });
    });
    afterAll(() => g.db.close());

    it('an approval row and status APPROVED are reported, before and after the apply they let through', async () => {
      const cs = await g.engine.create(g.p['Agent-D']!, configChange());
      await g.engine.submit(g.p['Agent-D']!, cs.id);
      const at = g.clock.now.toISOString();
      await g.db.query(
        `INSERT INTO approvals (id, change_set, approver_id, decision, content_hash, decided_at)
         VALUES (gen_random_uuid(), $1, 'alice', 'APPROVED', $2, $3)`,
        [cs.id, cs.content_hash, at],
      );
      await g.db.query("UPDATE change_sets SET status = 'APPROVED', received_approvals = 1 WHERE id = $1", [cs.id]);
      const forged = { chain: cs.id, change_set_id: cs.change_set_id };
      const approvalFinding = {
        kind: 'approval',
        ...forged,
        message: `approval by alice (APPROVED, ${at}) has no audit entry`,
      };

      const before = await g.engine.verifyAudit();
      expect(before.ok).toBe(false);
      expect(before.findings).toEqual([
        {
          kind: 'status',
          ...forged,
          message: 'status APPROVED is not what its audit entries lead to (PENDING_APPROVAL)',
        },
        approvalFinding,
      ]);

      // The forged state is enough for the engine: the apply goes through and is signed.
      const result = await g.engine.apply(g.p['olga']!, cs.id, {});
      expect(result).toMatchObject({ success: true, status: 'APPLIED' });
      const applyEntry = (await g.engine.audit(cs.id)).find((e) => e.action === 'apply')!;
      const after = await g.engine.verifyAudit();
      expect(after.ok).toBe(false);
      expect(after.signatures).toMatchObject({ unsigned: 0, invalid: 0 });
      expect(after.findings).toEqual([
        {
          kind: 'lifecycle',
          ...forged,
          message: `apply at chain position ${applyEntry.chain_seq} while the audit entries say PENDING_APPROVAL (apply needs APPROVED or PARTIALLY_APPLIED)`,
        },
        approvalFinding,
      ]);
      await g.db.query('DELETE FROM approvals WHERE change_set = $1', [cs.id]);
    });

    it('a resource version, a rewritten version and a current state off its history are reported', async () => {
      const cs = await g.engine.create(g.p['Agent-D']!, configChange('config.tampered'));
      await g.engine.submit(g.p['Agent-D']!, cs.id);
      await g.engine.decide(g.p['alice']!, cs.id, { decision: 'APPROVED' });
      await g.engine.apply(g.p['olga']!, cs.id, {});
      const clean = await g.engine.verifyAudit();
      expect(clean.findings.filter((x) => x.chain === cs.id || x.chain === null)).toEqual([]);

      // A version 2 attributed to the change-set, the audited version 1 rewritten, and the current row.
      await g.db.query(
        `INSERT INTO resource_history (target_type, target_id, version, present, state, operation, change_set, actor, at)
         VALUES ('CONFIG', 'config.tampered', 2, true, '{"value": 666}', 'UPDATE', $1, 'olga', now())`,
        [cs.id],
      );
      await g.db.query(
        `UPDATE resource_history SET state = '{"value": 2}' WHERE target_id = 'config.tampered' AND version = 1`,
      );
      await g.db.query(`UPDATE resources SET state = '{"value": 7}', version = 2 WHERE target_id = 'config.tampered'`);
      const result = await g.engine.verifyAudit();
      const forged = { chain: cs.id, change_set_id: cs.change_set_id };
      const these = result.findings.filter((x) => x.chain === cs.id || x.chain === null);
      expect(these).toHaveLength(3);
      expect(these).toEqual(
        expect.arrayContaining([
          {
            kind: 'resource_version',
            ...forged,
            message: 'CONFIG/config.tampered version 2 was not written by an audited apply or rollback',
          },
          {
            kind: 'resource_version',
            ...forged,
            message: 'CONFIG/config.tampered version 1 differs from what the audited apply or rollback wrote',
          },
          {
            kind: 'resource',
            chain: null,
            change_set_id: null,
            message: 'resource CONFIG/config.tampered differs from its version 2 in resource_history',
          },
        ]),
      );
    });
    it('a group granted, a token inserted and a revocation undone behind the trail are reported', async () => {
      const clean = await g.engine.verifyAudit();
      expect(clean.findings.filter((x) => x.chain === 'system')).toEqual([]);
      const issued = await g.engine.issueToken(g.p['root']!, 'Agent-C');
      await g.engine.revokeToken(g.p['root']!, issued.token_id);
      await g.db.query("UPDATE principals SET groups = '{admin}' WHERE id = 'bob'");
      await g.db.query(
        `INSERT INTO tokens (id, principal_id, token_hash, created_at, created_by)
         VALUES ('t-forged', 'bob', repeat('ab', 32), now(), 'root')`,
      );
      await g.db.query('UPDATE tokens SET revoked_at = NULL WHERE id = $1', [issued.token_id]);
      const result = await g.engine.verifyAudit();
      const system = { chain: 'system', change_set_id: null };
      expect(result.findings.filter((x) => x.chain === 'system')).toEqual([
        { kind: 'principal', ...system, message: 'principal bob has groups [admin], its audit entries give []' },
        {
          kind: 'token',
          ...system,
          message: `token ${issued.token_id} of principal Agent-C is revoked in its audit entries, not in the tokens table`,
        },
        { kind: 'token', ...system, message: 'token t-forged of principal bob has no audit entry' },
      ]);
      await g.db.query("UPDATE principals SET groups = '{}' WHERE id = 'bob'");
      await g.db.query("DELETE FROM tokens WHERE id = 't-forged'");
      await g.db.query('UPDATE tokens SET revoked_at = now() WHERE id = $1', [issued.token_id]);
    });
  });

  describe('signatures', () => {
    let g: Fixture;
    let one: string;
    let two: string;
    beforeAll(async () => {
      g = await makeFixture(await backend.open(), undefined, { signer });
      one = (await g.engine.create(g.p['Agent-A']!, uiButton())).id;
      two = (await g.engine.create(g.p['Agent-A']!, uiButton())).id;
    });
    afterAll(() => g.db.close());

    const sigOf = async (id: string) =>
      (await g.db.query<{ audit_sig: string }>('SELECT audit_sig FROM change_sets WHERE id = $1', [id])).rows[0]!
        .audit_sig;
    const findingsOf = async (id: string) => (await g.engine.verifyAudit()).findings.filter((x) => x.chain === id);

    it('a head signed with another key is detected', async () => {
      const real = await sigOf(one);
      const { rows } = await g.db.query<{ audit_head: string; audit_count: number }>(
        'SELECT audit_head, audit_count FROM change_sets WHERE id = $1',
        [one],
      );
      const forger = newSigner();
      const forged = forger.sign(one, { hash: rows[0]!.audit_head, count: rows[0]!.audit_count });
      await g.db.query('UPDATE change_sets SET audit_sig = $2 WHERE id = $1', [one, forged]);
      expect(await findingsOf(one)).toEqual([
        expect.objectContaining({
          kind: 'bad_signature',
          message: `the chain head (entry ${rows[0]!.audit_count}) is signed by another key than this one (${signer.keyId})`,
        }),
      ]);
      await g.db.query('UPDATE change_sets SET audit_sig = $2 WHERE id = $1', [one, real]);
      expect(await findingsOf(one)).toEqual([]);
    });

    it("a signature carrying this key's id but not made for this head is detected", async () => {
      const real = await sigOf(one);
      // Another chain's genuine signature, and a signature with its bytes altered.
      const [scheme, keyId, bytes] = real.split(':') as [string, string, string];
      const flipped = Buffer.from(bytes, 'base64');
      flipped[0] = flipped[0]! ^ 1;
      for (const forged of [await sigOf(two), `${scheme}:${keyId}:${flipped.toString('base64')}`]) {
        await g.db.query('UPDATE change_sets SET audit_sig = $2 WHERE id = $1', [one, forged]);
        expect(await findingsOf(one)).toEqual([
          expect.objectContaining({ kind: 'bad_signature', message: expect.stringMatching(/does not match it$/) }),
        ]);
      }
      await g.db.query('UPDATE change_sets SET audit_sig = NULL WHERE id = $1', [one]);
      expect(await findingsOf(one)).toEqual([
        expect.objectContaining({ kind: 'unsigned_head', message: expect.stringMatching(/is not signed$/) }),
      ]);
      await g.db.query('UPDATE change_sets SET audit_sig = $2 WHERE id = $1', [one, real]);
    });
  });

  describe('without a key (the library default)', () => {
    it('writes unsigned heads, and verify says it did not check them; a key holder reports them', async () => {
      const g = await makeFixture(await backend.open());
      try {
        await g.engine.create(g.p['Agent-A']!, uiButton());
        const result = await g.engine.verifyAudit();
        expect(result).toMatchObject({ ok: true, findings: [] });
        expect(result.signatures).toEqual({ checked: false, key_id: null, signed: 0, unsigned: 2, invalid: 0 });
        const keyHolder = await verifyAudit(g.db, signer);
        expect(keyHolder.ok).toBe(false);
        expect(keyHolder.findings.map((x) => x.kind)).toEqual(['unsigned_head', 'unsigned_head']);
      } finally {
        await g.db.close();
      }
    });

    it('adopting unsigned heads signs them only when verify finds nothing else', async () => {
      const g = await makeFixture(await backend.open());
      try {
        const cs = await g.engine.create(g.p['Agent-D']!, configChange());
        await g.engine.submit(g.p['Agent-D']!, cs.id);
        await g.db.query("UPDATE change_sets SET status = 'APPROVED' WHERE id = $1", [cs.id]);
        await expect(adoptUnsignedHeads(g.db, signer)).rejects.toThrow(
          'verify finds 1 finding besides unsigned heads: signing would vouch for them; run audit verify',
        );
        expect((await verifyAudit(g.db, signer)).signatures).toMatchObject({ signed: 0, unsigned: 2 });
        await g.db.query("UPDATE change_sets SET status = 'PENDING_APPROVAL' WHERE id = $1", [cs.id]);
        expect((await adoptUnsignedHeads(g.db, signer)).adopted).toBe(2);
        const result = await verifyAudit(g.db, signer);
        expect(result).toMatchObject({ ok: true, findings: [] });
        expect(result.signatures).toEqual({ checked: true, key_id: signer.keyId, signed: 2, unsigned: 0, invalid: 0 });
      } finally {
        await g.db.close();
      }
    });
  });
});
