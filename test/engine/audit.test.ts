// The audit trail is tamper-evident: verify passes on a busy history and names the exact entry
// that was altered behind its back (the test disables the append-only trigger to do so).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';

describeEachBackend('audit trail', (backend) => {
  let f: Fixture;
  const ids: string[] = [];

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    // A busy history: every kind of action on many change-sets, plus principal and token changes.
    for (let i = 0; i < 12; i++) {
      const cs = await f.engine.create(f.p['Agent-D']!, configChange());
      ids.push(cs.id);
      await f.engine.edit(f.p['Agent-D']!, cs.id, { title: `Tuned ${i}` });
      await f.engine.submit(f.p['Agent-D']!, cs.id);
      if (i % 3 === 0) {
        await f.engine.decide(f.p['alice']!, cs.id, { decision: 'REJECTED', reason: 'no' });
        await f.engine.reopen(f.p['Agent-D']!, cs.id);
        continue;
      }
      await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
      await f.engine.apply(f.p['olga']!, cs.id, {});
      if (i % 2 === 0) await f.engine.rollback(f.p['root']!, cs.id, { reason: 'undo' });
    }
    const auto = await f.engine.create(f.p['Agent-A']!, uiButton());
    ids.push(auto.id);
    await f.engine.issueToken(f.p['root']!, 'Agent-B');
    await f.engine.updatePrincipal(f.p['root']!, 'bob', { groups: ['operator'] });
  });
  afterAll(() => f.db.close());

  const withTriggerOff = async (sql: string, params: unknown[]) => {
    await f.db.query('ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only');
    try {
      await f.db.query(sql, params);
    } finally {
      await f.db.query('ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only');
    }
  };

  it('records every action of a change-set on its chain, in order', async () => {
    const entries = await f.engine.audit(ids[1]!);
    expect(entries.map((e) => e.action)).toEqual(['create', 'edit', 'submit', 'decision', 'transition', 'apply']);
    expect(entries.map((e) => e.chain_seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(entries.every((e, i) => i === 0 || e.prev_hash === entries[i - 1]!.hash)).toBe(true);
  });

  it('verifies a busy history', async () => {
    const result = await f.engine.verifyAudit();
    expect(result).toMatchObject({ ok: true, first_break: null });
    expect(result.chains).toBe(ids.length + 1);
    const { rows } = await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries');
    expect(result.entries).toBe(rows[0]!.n);
  });

  it('refuses to update or delete audit rows', async () => {
    await expect(f.db.query("UPDATE audit_entries SET actor = 'mallory'")).rejects.toThrow(/append-only/);
    await expect(f.db.query('DELETE FROM audit_entries')).rejects.toThrow(/append-only/);
  });

  it('names the exact entry whose content was altered', async () => {
    const victim = (await f.engine.audit(ids[4]!))[3]!;
    await withTriggerOff(`UPDATE audit_entries SET data = jsonb_set(data, '{reason}', '"forged"') WHERE seq = $1`, [
      victim.seq,
    ]);
    const result = await f.engine.verifyAudit();
    expect(result.ok).toBe(false);
    expect(result.first_break).toMatchObject({ seq: victim.seq, chain: ids[4], chain_seq: 4 });
    expect(result.first_break!.reason).toMatch(/content does not match its hash/);
    const cs = await f.engine.get(ids[4]!);
    expect(result.first_break!.change_set_id).toBe(cs.change_set_id);
    await withTriggerOff('UPDATE audit_entries SET data = $2::jsonb WHERE seq = $1', [
      victim.seq,
      JSON.stringify(victim.data),
    ]);
    expect((await f.engine.verifyAudit()).ok).toBe(true);
  });

  it('notices an altered actor on the system chain and a removed newest entry', async () => {
    const { rows } = await f.db.query<{ seq: number }>(
      "SELECT seq FROM audit_entries WHERE chain = 'system' ORDER BY chain_seq LIMIT 1 OFFSET 2",
    );
    const seq = rows[0]!.seq;
    await withTriggerOff("UPDATE audit_entries SET actor = 'mallory' WHERE seq = $1", [seq]);
    expect((await f.engine.verifyAudit()).first_break).toMatchObject({ chain: 'system', seq, chain_seq: 3 });
    await withTriggerOff("UPDATE audit_entries SET actor = 'system' WHERE seq = $1", [seq]);

    const last = (await f.engine.audit(ids[7]!)).at(-1)!;
    await withTriggerOff('DELETE FROM audit_entries WHERE seq = $1', [last.seq]);
    const result = await f.engine.verifyAudit();
    expect(result.first_break).toMatchObject({ chain: ids[7], seq: null });
    expect(result.first_break!.reason).toMatch(/should end at entry/);
  });
});
