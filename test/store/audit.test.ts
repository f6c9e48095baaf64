// store/audit.ts and audit-state.ts on both backends: entries are appended and read back in chain
// order, chain heads are recorded (change-sets on their row, other chains in audit_heads) and signed
// only while they are the head that was verified; the state loaders return what verification checks.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../src/core/audit-chain.js';
import {
  auditInsert,
  chainHeadUpdate,
  loadAuditPage,
  loadChainHeads,
  loadChangeSetAudit,
  lockChainHead,
  signHead,
  systemHeadSignature,
} from '../../src/store/audit.js';
import {
  loadApprovalStates,
  loadHistoryStates,
  loadIdentityStates,
  orphanHistory,
  resourcesOffHistory,
} from '../../src/store/audit-state.js';
import { runWrites } from '../../src/store/statement.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import { applyItems, create, newTarget, TYPE } from '../helpers/ledger.js';

describeEachBackend('store: audit', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  const entry = (chain: string, chain_seq: number, change_set: string | null = null) => ({
    chain,
    chain_seq,
    at: '2026-11-25T10:00:00.000Z',
    actor: 'alice',
    action: 'note',
    change_set,
    data: { n: chain_seq, nested: { list: [1, 'two'] } },
    prev_hash: GENESIS_HASH,
    hash: String(chain_seq).repeat(64).slice(0, 64),
  });

  it('appends entries and reads a change-set chain back in order, timestamps as ISO strings', async () => {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    const before = await loadChangeSetAudit(f.db, cs.id);
    expect(before.map((e) => e.action)).toEqual(['create']);
    const next = before.length + 1;
    await runWrites(f.db, [auditInsert([entry(cs.id, next + 1, cs.id), entry(cs.id, next, cs.id)])]);
    const after = await loadChangeSetAudit(f.db, cs.id);
    expect(after.map((e) => e.chain_seq)).toEqual([1, next, next + 1]);
    expect(after[1]).toMatchObject({ ...entry(cs.id, next, cs.id), at: '2026-11-25T10:00:00.000Z' });
    expect(auditInsert([])).toBeNull();
  });

  it('pages through every entry in (chain, chain_seq) order', async () => {
    const all: { chain: string; chain_seq: number }[] = [];
    let after: { chain: string; chain_seq: number } | null = null;
    for (;;) {
      const page = await loadAuditPage(f.db, after, 2);
      if (page.length === 0) break;
      all.push(...page.map(({ chain, chain_seq }) => ({ chain, chain_seq })));
      after = all[all.length - 1]!;
    }
    const { rows } = await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries');
    expect(all).toHaveLength(rows[0]!.n);
    const sorted = [...all].sort((a, b) =>
      a.chain === b.chain ? a.chain_seq - b.chain_seq : a.chain < b.chain ? -1 : 1,
    );
    expect(all).toEqual(sorted);
  });

  it('locks a chain head (created on first use), updates it, and lists every chain head', async () => {
    const chain = `test-${randomUUID()}`;
    const head = await f.db.transaction((tx) => lockChainHead(tx, chain));
    expect(head).toEqual({ head: GENESIS_HASH, count: 0, sig: null });
    await runWrites(f.db, [chainHeadUpdate(chain, 'a'.repeat(64), 3, null)]);
    expect(await f.db.transaction((tx) => lockChainHead(tx, chain))).toEqual({
      head: 'a'.repeat(64),
      count: 3,
      sig: null,
    });
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    const heads = await loadChainHeads(f.db);
    expect(heads.get(chain)).toEqual({ hash: 'a'.repeat(64), count: 3, sig: null, change_set_id: null, status: null });
    expect(heads.get(cs.id)).toMatchObject({ count: 1, change_set_id: cs.change_set_id, status: 'DRAFT' });
  });

  it('signs a head only while it is still the head that was verified, and only once', async () => {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    const head = (await loadChainHeads(f.db)).get(cs.id)!;
    expect(await signHead(f.db, cs.id, { hash: head.hash, count: head.count + 1 }, 'sig-x')).toBe(false);
    expect(await signHead(f.db, cs.id, head, 'sig-1')).toBe(true);
    expect(await signHead(f.db, cs.id, head, 'sig-2')).toBe(false);
    expect((await loadChainHeads(f.db)).get(cs.id)!.sig).toBe('sig-1');

    await f.db.transaction((tx) => lockChainHead(tx, 'system'));
    const system = (await loadChainHeads(f.db)).get('system')!;
    if (system.sig === null) {
      expect(await systemHeadSignature(f.db)).toBeNull();
      expect(await signHead(f.db, 'system', system, 'sys-sig')).toBe(true);
    }
    expect(await systemHeadSignature(f.db)).toBe(system.sig ?? 'sys-sig');
  });

  it('loads the approvals and resource versions each change-set accounts for, and the identity rows', async () => {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
    await f.engine.apply(f.p['olga']!, cs.id, {});
    const approvals = await loadApprovalStates(f.db, [cs.id, randomUUID()]);
    expect([...approvals.keys()]).toEqual([cs.id]);
    expect(approvals.get(cs.id)).toEqual([
      expect.objectContaining({ approver_id: 'alice', decision: 'APPROVED', stale: false }),
    ]);
    expect(approvals.get(cs.id)![0]!.decided_at).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    const history = await loadHistoryStates(f.db, [cs.id]);
    expect(history.get(cs.id)).toEqual([
      expect.objectContaining({ target_type: cs.items[0]!.target_type, target_id: cs.items[0]!.target_id, version: 1 }),
    ]);
    const identity = await loadIdentityStates(f.db);
    expect(identity.principals.find((p) => p.id === 'olga')).toEqual({
      id: 'olga',
      kind: 'human',
      groups: ['operator'],
      active: true,
    });
    expect(identity.principals.map((p) => p.id)).toEqual([...identity.principals.map((p) => p.id)].sort());
  });

  it('finds resource rows no history accounts for, and history of change-sets that do not exist', async () => {
    const id = newTarget();
    await applyItems(f, [create(id, { v: 1 })]);
    expect((await resourcesOffHistory(f.db, 100)).filter((r) => r.target_id === id)).toEqual([]);
    await f.db.query(`UPDATE resources SET state = '{"v":"tampered"}' WHERE target_type = $1 AND target_id = $2`, [
      TYPE,
      id,
    ]);
    expect((await resourcesOffHistory(f.db, 100)).filter((r) => r.target_id === id)).toEqual([
      { target_type: TYPE, target_id: id, version: 1, recorded: true },
    ]);
    await f.db.query('UPDATE resources SET version = 7 WHERE target_type = $1 AND target_id = $2', [TYPE, id]);
    expect((await resourcesOffHistory(f.db, 100)).filter((r) => r.target_id === id)).toEqual([
      { target_type: TYPE, target_id: id, version: 7, recorded: false },
    ]);
    expect(await orphanHistory(f.db, 100)).toEqual([]);
  });
});
