// Every row of the lifecycle table of docs/design.md#lifecycle, end to end through the Engine: each action in each
// status by each kind of actor is allowed (and lands in the status the table names) or refused
// (409 INVALID_TRANSITION for the status, else 403 FORBIDDEN for the actor), and a refusal stores
// nothing. Refusals share one change-set per status; each success gets a fresh one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, type Action } from '../../src/core/lifecycle.js';
import { DEFAULT_RISK_CONFIG } from '../../src/core/risk.js';
import { type ChangeSet, type Principal, STATUSES, type Status } from '../../src/core/types.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton, uniqueId } from '../helpers/fixture.js';
import { type Role, SPEC_LIFECYCLE, specAllows } from '../helpers/spec-lifecycle.js';

const CREATOR = 'Agent-D';

/** The actors of the matrix on a configChange() by Agent-D (approval_chain ['alice']). */
const ACTORS: { id: string; kind: string; roles: Role[] }[] = [
  { id: CREATOR, kind: 'creator', roles: ['creator'] },
  { id: 'alice', kind: 'eligible approver', roles: ['approver'] },
  { id: 'bob', kind: 'ineligible principal', roles: [] },
  { id: 'olga', kind: 'operator', roles: ['operator'] },
  // Group admin is always an eligible approver (docs/design.md#approvals).
  { id: 'root', kind: 'admin', roles: ['admin', 'approver'] },
];

/**
 * Where each allowed action leads from each status it allows, for the matrix's change-sets (one
 * approval needed; apply of a PARTIALLY_APPLIED one after its conflict is cleared).
 */
const OUTCOME: Record<Action, Partial<Record<Status, Status>>> = {
  edit: { DRAFT: 'DRAFT', REJECTED: 'REJECTED' },
  submit: { DRAFT: 'PENDING_APPROVAL' },
  withdraw: { PENDING_APPROVAL: 'DRAFT' },
  reopen: { REJECTED: 'DRAFT', ROLLED_BACK: 'DRAFT' },
  close: { DRAFT: 'REJECTED', PENDING_APPROVAL: 'REJECTED', APPROVED: 'REJECTED' },
  approve: { PENDING_APPROVAL: 'APPROVED' },
  reject: { PENDING_APPROVAL: 'REJECTED', APPROVED: 'REJECTED' },
  apply: { APPROVED: 'APPLIED', PARTIALLY_APPLIED: 'APPLIED' },
  rollback: { APPLIED: 'ROLLED_BACK', PARTIALLY_APPLIED: 'ROLLED_BACK' },
};

type Expected = { kind: 'ok'; to: Status } | { kind: 'refused'; code: 'INVALID_TRANSITION' | 'FORBIDDEN' };

function expectedOutcome(action: Action, status: Status, roles: readonly Role[]): Expected {
  if (!SPEC_LIFECYCLE[action].from.includes(status)) return { kind: 'refused', code: 'INVALID_TRANSITION' };
  if (!specAllows(action, roles)) return { kind: 'refused', code: 'FORBIDDEN' };
  return { kind: 'ok', to: OUTCOME[action][status]! };
}

const STATUS_CODE = { INVALID_TRANSITION: 409, FORBIDDEN: 403 } as const;

const MATRIX = ACTIONS.flatMap((action) =>
  STATUSES.flatMap((status) =>
    ACTORS.map((actor) => {
      const expected = expectedOutcome(action, status, actor.roles);
      const label = expected.kind === 'ok' ? `→ ${expected.to}` : `→ ${STATUS_CODE[expected.code]} ${expected.code}`;
      return { action, status, actor: actor.id, kind: actor.kind, expected, label };
    }),
  ),
);

interface Reached {
  id: string;
  /** PARTIALLY_APPLIED only: removes what made the second item fail, so applying again can succeed. */
  clearConflict?: () => Promise<void>;
}

describe('the matrix itself', () => {
  it('has an outcome in docs/design.md#lifecycle for every allowed (action, status) and none for the others', () => {
    for (const action of ACTIONS) {
      expect(Object.keys(OUTCOME[action]).sort()).toEqual([...SPEC_LIFECYCLE[action].from].sort());
      for (const to of Object.values(OUTCOME[action])) expect(SPEC_LIFECYCLE[action].to).toContain(to);
    }
  });

  it('covers every action × status × actor, with a success for every row of the table', () => {
    expect(MATRIX).toHaveLength(ACTIONS.length * STATUSES.length * ACTORS.length);
    expect(MATRIX.filter((m) => m.expected.kind === 'ok')).toHaveLength(30);
  });
});

describeEachBackend('lifecycle matrix', (backend) => {
  let f: Fixture;
  const p = (id: string): Principal => f.p[id]!;
  let targets = 0;
  const target = (name: string) => `matrix.${backend.name}.${name}.${++targets}`;

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  async function status(id: string): Promise<Status> {
    return (await f.engine.get(id)).status;
  }

  /** docs/design.md#apply-and-rollback: the second item of a 2-item change-set fails because another change-set created its target after approval. */
  async function reachPartiallyApplied(): Promise<Reached> {
    const first = target('partial');
    const contested = target('contested');
    const cs = await f.engine.create(
      p(CREATOR),
      configChange(first, {
        items: [
          { operation_type: 'CREATE', target_type: 'CONFIG', target_id: first, after_state: { value: 1 } },
          { operation_type: 'CREATE', target_type: 'CONFIG', target_id: contested, after_state: { value: 2 } },
        ],
      }),
    );
    expect(cs.required_approvals).toBe(1);
    await f.engine.submit(p(CREATOR), cs.id);
    await f.engine.decide(p('alice'), cs.id, { decision: 'APPROVED' });
    // Auto-approved (the first worked example of docs/design.md#worked-examples, on a CONFIG target): takes the contested target.
    const other = await f.engine.create(
      p('Agent-A'),
      uiButton({
        items: [{ operation_type: 'CREATE', target_type: 'CONFIG', target_id: contested, after_state: { value: 9 } }],
      }),
    );
    expect(other.status).toBe('APPROVED');
    await f.engine.apply(p('Agent-A'), other.id, { mode: 'ATOMIC' });
    const result = await f.engine.apply(p(CREATOR), cs.id, { mode: 'BEST_EFFORT' });
    expect(result).toMatchObject({ status: 'PARTIALLY_APPLIED', applied_items: 1, failed_items: 1 });
    return {
      id: cs.id,
      clearConflict: async () => {
        await f.engine.rollback(p('Agent-A'), other.id, { reason: 'make room' });
      },
    };
  }

  /** A fresh configChange() by Agent-D (needs alice or an admin) driven to `wanted`. */
  async function reach(wanted: Status): Promise<Reached> {
    if (wanted === 'PARTIALLY_APPLIED') return reachPartiallyApplied();
    const D = p(CREATOR);
    const { id } = await f.engine.create(D, configChange(target(wanted.toLowerCase())));
    const steps: Record<Exclude<Status, 'PARTIALLY_APPLIED'>, (() => Promise<unknown>)[]> = {
      DRAFT: [],
      PENDING_APPROVAL: [() => f.engine.submit(D, id)],
      APPROVED: [() => f.engine.submit(D, id), () => f.engine.decide(p('alice'), id, { decision: 'APPROVED' })],
      APPLIED: [
        () => f.engine.submit(D, id),
        () => f.engine.decide(p('alice'), id, { decision: 'APPROVED' }),
        () => f.engine.apply(D, id, { mode: 'ATOMIC' }),
      ],
      REJECTED: [() => f.engine.close(D, id, { reason: 'not now' })],
      ROLLED_BACK: [
        () => f.engine.submit(D, id),
        () => f.engine.decide(p('alice'), id, { decision: 'APPROVED' }),
        () => f.engine.apply(D, id, { mode: 'ATOMIC' }),
        () => f.engine.rollback(D, id, { reason: 'undo' }),
      ],
    };
    for (const step of steps[wanted]) await step();
    return { id };
  }

  const shared = new Map<Status, Promise<Reached>>();
  /** One change-set per status for the refusals, which must leave it as it was. */
  const sharedAt = (wanted: Status): Promise<Reached> => {
    if (!shared.has(wanted)) shared.set(wanted, reach(wanted));
    return shared.get(wanted)!;
  };

  /** Takes the action; resolves to the status it reports (apply's result, or the change-set). */
  async function act(action: Action, actor: Principal, id: string): Promise<Status> {
    const e = f.engine;
    switch (action) {
      case 'edit':
        return (await e.edit(actor, id, { title: 'Retitled' })).status;
      case 'submit':
        return (await e.submit(actor, id)).status;
      case 'withdraw':
        return (await e.withdraw(actor, id, { reason: 'rethink' })).status;
      case 'reopen':
        return (await e.reopen(actor, id, { reason: 'again' })).status;
      case 'close':
        return (await e.close(actor, id, { reason: 'no longer needed' })).status;
      case 'approve':
        return (await e.decide(actor, id, { decision: 'APPROVED', reason: 'fine' })).status;
      case 'reject':
        return (await e.decide(actor, id, { decision: 'REJECTED', reason: 'no' })).status;
      case 'apply':
        return ((await e.apply(actor, id, {})) as { status: Status }).status;
      case 'rollback':
        await e.rollback(actor, id, { reason: 'undo' });
        return status(id);
    }
  }

  /** Everything a transition could write: the change-set's version and status, and every log table. */
  async function stored(id: string) {
    const cs = await f.engine.get(id);
    const { rows } = await f.db.query<Record<string, number>>(
      `SELECT (SELECT count(*) FROM audit_entries)::int AS audit, (SELECT count(*) FROM outbox_events)::int AS events,
              (SELECT count(*) FROM approvals)::int AS approvals, (SELECT count(*) FROM resource_history)::int AS history`,
    );
    return { version: cs.version, status: cs.status, ...rows[0] };
  }

  async function expectRefusal(
    run: () => Promise<unknown>,
    id: string,
    code: 'INVALID_TRANSITION' | 'FORBIDDEN',
  ): Promise<void> {
    const before = await stored(id);
    await expect(run()).rejects.toMatchObject({ code, statusCode: STATUS_CODE[code] });
    expect(await stored(id)).toEqual(before);
  }

  for (const action of ACTIONS) {
    describe(action, () => {
      it.each(MATRIX.filter((m) => m.action === action))(
        'while $status by the $kind ($actor) $label',
        async ({ status: from, actor, expected }) => {
          if (expected.kind === 'refused') {
            const { id } = await sharedAt(from);
            expect(await status(id)).toBe(from);
            await expectRefusal(() => act(action, p(actor), id), id, expected.code);
            return;
          }
          const reached = await reach(from);
          expect(await status(reached.id)).toBe(from);
          if (action === 'apply' && from === 'PARTIALLY_APPLIED') await reached.clearConflict!();
          const before = (await f.engine.get(reached.id)).version;
          expect(await act(action, p(actor), reached.id)).toBe(expected.to);
          const after = await f.engine.get(reached.id);
          expect(after.status).toBe(expected.to);
          expect(after.version).toBeGreaterThan(before);
        },
      );
    });
  }

  describe('beyond the matrix', () => {
    /** docs/design.md#risk-model: Agent-C, SECURITY, two CREATEs of SECURITY_POLICY targets → score 51, HIGH, 2 approvals. */
    async function needingTwo(): Promise<ChangeSet> {
      const items = ['a', 'b'].map((name) => ({
        operation_type: 'CREATE',
        target_type: 'SECURITY_POLICY',
        target_id: `security.${target(name)}`,
        after_state: { allow: [] },
      }));
      const cs = await f.engine.create(p('Agent-C'), {
        change_set_id: uniqueId(),
        title: 'Two new security policies',
        agent_type: 'BACKEND',
        category: 'SECURITY',
        approval_chain: ['alice'],
        items,
      });
      expect(cs.risk).toMatchObject({
        factors: { operation: 10, target: 100, agent: 35, scope: 50, quantity: 5 },
        score: 51,
        level: 'HIGH',
        required_approvals: 2,
      });
      expect(cs.required_approvals).toBe(2);
      return f.engine.submit(p('Agent-C'), cs.id);
    }

    it('refuses an admin approving or rejecting a change-set the admin created (403), another admin may', async () => {
      const cs = await f.engine.create(p('root'), configChange(target('own')));
      await f.engine.submit(p('root'), cs.id);
      for (const decision of ['APPROVED', 'REJECTED']) {
        await expectRefusal(() => f.engine.decide(p('root'), cs.id, { decision }), cs.id, 'FORBIDDEN');
      }
      await expect(f.engine.decide(p('root'), cs.id, { decision: 'APPROVED' })).rejects.toThrow('separation of duties');
      expect((await f.engine.decide(p('root2'), cs.id, { decision: 'APPROVED' })).status).toBe('APPROVED');
    });

    it('refuses every action to an inactive principal, even an admin and operator on the approval chain', async () => {
      await f.engine.createPrincipal(
        p('root'),
        {
          id: 'ivy',
          kind: 'human',
          display_name: 'Ivy',
          email: null,
          slack_id: null,
          groups: ['admin', 'operator'],
          risk: null,
          active: true,
        },
        { withToken: false },
      );
      const ivy = await f.engine.updatePrincipal(p('root'), 'ivy', { active: false });
      expect(ivy.active).toBe(false);
      const cases: [Action, Status][] = [
        ['close', 'DRAFT'],
        ['approve', 'PENDING_APPROVAL'],
        ['reject', 'APPROVED'],
        ['apply', 'APPROVED'],
        ['rollback', 'APPLIED'],
        ['apply', 'PARTIALLY_APPLIED'],
      ];
      for (const [action, from] of cases) {
        const { id } = await sharedAt(from);
        await expectRefusal(() => act(action, ivy, id), id, 'FORBIDDEN');
        await expect(act(action, ivy, id)).rejects.toThrow('principal ivy is inactive');
      }
    });

    it('refuses an inactive creator, and refuses create to an inactive principal', async () => {
      const { principal: active } = await f.engine.createPrincipal(
        p('root'),
        {
          id: 'zed',
          kind: 'agent',
          display_name: 'Zed',
          email: null,
          slack_id: null,
          groups: [],
          risk: null,
          active: true,
        },
        { withToken: false },
      );
      const cs = await f.engine.create(active, configChange(target('zed')));
      const zed = await f.engine.updatePrincipal(p('root'), 'zed', { active: false });
      for (const action of ['edit', 'submit', 'close'] as const) {
        await expectRefusal(() => act(action, zed, cs.id), cs.id, 'FORBIDDEN');
      }
      await expect(f.engine.create(zed, configChange(target('zed')))).rejects.toMatchObject({
        code: 'FORBIDDEN',
        statusCode: 403,
      });
    });

    it('refuses approving a DRAFT with 409, naming the status and what approve needs', async () => {
      const { id } = await sharedAt('DRAFT');
      await expectRefusal(() => f.engine.decide(p('alice'), id, { decision: 'APPROVED' }), id, 'INVALID_TRANSITION');
      await expect(f.engine.decide(p('alice'), id, { decision: 'APPROVED' })).rejects.toThrow(
        'status is DRAFT, approve needs PENDING_APPROVAL',
      );
    });

    it('goes DRAFT → APPROVED on submit when an edit leaves 0 approvals required', async () => {
      const cs = await f.engine.create(p('Agent-A'), uiButton({ category: 'CONFIG_UPDATE' }));
      expect(cs).toMatchObject({ status: 'DRAFT', required_approvals: 1 });
      const edited = await f.engine.edit(p('Agent-A'), cs.id, { category: 'UI_LAYOUT' });
      expect(edited).toMatchObject({ status: 'DRAFT', required_approvals: 0 });
      const submitted = await f.engine.submit(p('Agent-A'), cs.id);
      expect(submitted).toMatchObject({ status: 'APPROVED', approval_deadline: null, received_approvals: 0 });
      expect(await f.engine.apply(p('Agent-A'), cs.id, {})).toMatchObject({ status: 'APPLIED' });
    });

    it('goes DRAFT → APPROVED on submit when a reopened auto-approved change-set needs 0 approvals', async () => {
      const cs = await f.engine.create(p('Agent-A'), uiButton());
      expect(cs).toMatchObject({ status: 'APPROVED', required_approvals: 0 });
      await f.engine.close(p('Agent-A'), cs.id);
      const reopened = await f.engine.reopen(p('Agent-A'), cs.id);
      expect(reopened).toMatchObject({ status: 'DRAFT', required_approvals: 0 });
      expect((await f.engine.submit(p('Agent-A'), cs.id)).status).toBe('APPROVED');
    });

    it('goes PENDING_APPROVAL → APPROVED only when the last of 2 required approvals arrives', async () => {
      const cs = await needingTwo();
      expect(cs.status).toBe('PENDING_APPROVAL');
      const first = await f.engine.decide(p('alice'), cs.id, { decision: 'APPROVED' });
      expect(first).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 1, required_approvals: 2 });
      // The same approver again is still one decision.
      const again = await f.engine.decide(p('alice'), cs.id, { decision: 'APPROVED', reason: 'still fine' });
      expect(again).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 1 });
      expect(again.approvals).toHaveLength(1);
      await expectRefusal(() => f.engine.decide(p('bob'), cs.id, { decision: 'APPROVED' }), cs.id, 'FORBIDDEN');
      await expectRefusal(() => f.engine.decide(p('Agent-C'), cs.id, { decision: 'APPROVED' }), cs.id, 'FORBIDDEN');
      const last = await f.engine.decide(p('root'), cs.id, { decision: 'APPROVED' });
      expect(last).toMatchObject({ status: 'APPROVED', received_approvals: 2 });
      expect((await f.engine.get(cs.id)).status).toBe('APPROVED');
    });

    it('lets an approver change its decision while pending: APPROVED then REJECTED rejects', async () => {
      const cs = await needingTwo();
      await f.engine.decide(p('alice'), cs.id, { decision: 'APPROVED' });
      const changed = await f.engine.decide(p('alice'), cs.id, { decision: 'REJECTED', reason: 'second thoughts' });
      expect(changed).toMatchObject({ status: 'REJECTED', received_approvals: 0 });
      const stored = await f.engine.get(cs.id);
      expect(stored.status).toBe('REJECTED');
      expect(stored.approvals).toMatchObject([
        { approver_id: 'alice', decision: 'REJECTED', reason: 'second thoughts', stale: false },
      ]);
    });

    it('makes earlier approvals stale on withdraw: they stay listed but no longer count', async () => {
      const cs = await needingTwo();
      await f.engine.decide(p('alice'), cs.id, { decision: 'APPROVED' });
      // Distinct decision times, so approvals[] (ordered by decided_at) has a defined order.
      f.clock.advance(60_000);
      const withdrawn = await f.engine.withdraw(p('Agent-C'), cs.id);
      expect(withdrawn).toMatchObject({ status: 'DRAFT', received_approvals: 0 });
      const resubmitted = await f.engine.submit(p('Agent-C'), cs.id);
      expect(resubmitted).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 0 });
      expect(resubmitted.approvals).toMatchObject([{ approver_id: 'alice', decision: 'APPROVED', stale: true }]);
      // One fresh approval is still one: alice's stale one does not make two.
      const one = await f.engine.decide(p('root'), cs.id, { decision: 'APPROVED' });
      expect(one).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 1 });
      f.clock.advance(60_000);
      const two = await f.engine.decide(p('alice'), cs.id, { decision: 'APPROVED' });
      expect(two).toMatchObject({ status: 'APPROVED', received_approvals: 2 });
      const approvals = (await f.engine.get(cs.id)).approvals;
      expect(approvals.map((a) => [a.approver_id, a.stale])).toEqual([
        ['alice', true],
        ['root', false],
        ['alice', false],
      ]);
    });

    it('makes earlier approvals stale on reopen: resubmitting needs a fresh approval', async () => {
      const { id } = await reach('APPROVED');
      await f.engine.decide(p('root'), id, { decision: 'REJECTED', reason: 'revoked' });
      const reopened = await f.engine.reopen(p(CREATOR), id);
      expect(reopened).toMatchObject({ status: 'DRAFT', received_approvals: 0 });
      expect(reopened.approvals.every((a) => a.stale)).toBe(true);
      const resubmitted = await f.engine.submit(p(CREATOR), id);
      expect(resubmitted).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 0 });
      expect(resubmitted.approvals).toHaveLength(2);
      await expectRefusal(() => f.engine.apply(p(CREATOR), id, {}), id, 'INVALID_TRANSITION');
      expect((await f.engine.decide(p('alice'), id, { decision: 'APPROVED' })).status).toBe('APPROVED');
    });

    it('keeps the audit trail verifiable after the whole matrix', async () => {
      expect(await f.engine.verifyAudit()).toMatchObject({ ok: true });
    });
  });

  describe('with risk.auto_approve.enabled false', () => {
    let g: Fixture;
    beforeAll(async () => {
      const config: EngineConfig = {
        ...DEFAULT_ENGINE_CONFIG,
        risk: { ...DEFAULT_RISK_CONFIG, auto_approve: { ...DEFAULT_RISK_CONFIG.auto_approve, enabled: false } },
      };
      g = await makeFixture(await backend.open(), config);
    });
    afterAll(() => g.db.close());

    // docs/design.md#risk-model and docs/design.md#deliberate-choices: a change-set the risk model does not auto-approve needs at least one
    // approval, even at a LOW score; so the first worked example becomes a DRAFT needing 1.
    it('creates the first worked example as a DRAFT needing 1 approval, and submit asks for it', async () => {
      const cs = await g.engine.create(g.p['Agent-A']!, uiButton({ approval_chain: ['alice'] }));
      expect(cs).toMatchObject({ status: 'DRAFT', required_approvals: 1 });
      expect(cs.risk).toMatchObject({ score: 6, level: 'LOW', auto_approve: false });
      expect((await g.engine.submit(g.p['Agent-A']!, cs.id)).status).toBe('PENDING_APPROVAL');
      expect((await g.engine.decide(g.p['alice']!, cs.id, { decision: 'APPROVED' })).status).toBe('APPROVED');
    });
  });
});
