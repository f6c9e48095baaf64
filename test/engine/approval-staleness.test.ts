import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChangeSet } from '../../src/core/types.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import { outboxTypes } from '../helpers/ledger.js';

// Approvals record the content hash they approved; only approvals of the current content count
// (docs/design.md, "Approvals"). Issue 20: an edit after close kept counting the approval of old content.
describeEachBackend('engine approval staleness', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  const itemsWith = (target: string, value: number) => ({
    items: [{ operation_type: 'CREATE', target_type: 'CONFIG', target_id: target, after_state: { value } }],
  });

  /** Create, submit, approve (→ APPROVED, 1 received), close (→ REJECTED). */
  async function approvedThenClosed(): Promise<{
    cs: ChangeSet;
    target: string;
    body: ReturnType<typeof configChange>;
  }> {
    const body = configChange();
    const target = body.items[0]!.target_id;
    const cs = await f.engine.create(f.p['Agent-D']!, body);
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    const approved = await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
    expect(approved).toMatchObject({ status: 'APPROVED', received_approvals: 1, required_approvals: 1 });
    expect(await f.engine.close(f.p['Agent-D']!, cs.id)).toMatchObject({ status: 'REJECTED', received_approvals: 1 });
    return { cs, target, body };
  }

  const summaryOf = async (cs: ChangeSet) => {
    const { data } = await f.engine.list(f.p['Agent-D']!, { q: cs.title, limit: 200 });
    return data.find((s) => s.id === cs.id);
  };

  it('an edit of a closed change-set stops counting the approval of the old content, everywhere', async () => {
    const { cs, target } = await approvedThenClosed();
    const edited = await f.engine.edit(f.p['Agent-D']!, cs.id, itemsWith(target, 2));
    expect(edited.content_hash).not.toBe(cs.content_hash);
    expect(edited.approvals).toEqual([
      expect.objectContaining({ approver_id: 'alice', content_hash: cs.content_hash }),
    ]);
    expect(edited.received_approvals).toBe(0);
    expect((await f.engine.get(cs.id)).received_approvals).toBe(0);
    expect(await summaryOf(cs)).toMatchObject({ status: 'REJECTED', received_approvals: 0 });
  });

  it('after the edit, reopen and submit need a fresh approval of the new content', async () => {
    const { cs, target } = await approvedThenClosed();
    await f.engine.edit(f.p['Agent-D']!, cs.id, itemsWith(target, 3));
    await f.engine.reopen(f.p['Agent-D']!, cs.id);
    const pending = await f.engine.submit(f.p['Agent-D']!, cs.id);
    expect(pending).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 0 });
    const approved = await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
    expect(approved).toMatchObject({ status: 'APPROVED', received_approvals: 1 });
    expect(await outboxTypes(f, cs.id)).toContain('changeset.approved');
  });

  it('an edit that changes nothing reviewable keeps counting the approval of that same content', async () => {
    const { cs } = await approvedThenClosed();
    const edited = await f.engine.edit(f.p['Agent-D']!, cs.id, { tags: ['unchanged-content'] });
    expect(edited.content_hash).toBe(cs.content_hash);
    expect(edited.received_approvals).toBe(1);
    expect(await summaryOf(cs)).toMatchObject({ received_approvals: 1 });
  });
});
