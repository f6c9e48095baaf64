// Policies in shadow mode: evaluated at every action and recorded, never in effect. The proof runs
// one sequence of actions on three ledgers — the policies in shadow, the same policies enforced, and
// no policies — and checks that the shadow ledger decided exactly what the bare one did, while its
// shadow results say, per change-set and action, what the enforcing ledger actually did.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { engineConfigOf, parseConfig } from '../../src/config.js';
import { LedgerError } from '../../src/core/errors.js';
import type { ChangeSet } from '../../src/core/types.js';
import type { Db } from '../../src/store/db.js';
import { type Backend, describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';

const POLICIES = [
  {
    name: 'no-deletes',
    actions: ['create'],
    condition: 'items.exists(i, i.operation_type == "DELETE")',
    effect: 'deny',
    message: 'agents may not delete',
  },
  {
    name: 'security-review',
    actions: ['create', 'submit'],
    condition: 'items.exists(i, i.target_id.startsWith("security."))',
    effect: 'require_approval',
    approvers: ['group:security'],
  },
  { name: 'big', condition: 'size(items) > 2', effect: 'warn' },
  { name: 'weekend-freeze', actions: ['submit'], condition: 'change_set.title.contains("freeze")', effect: 'deny' },
];

/** Three ledgers with their cast on a machine shared by many test runs. */
const HOOK_TIMEOUT = 240_000;

const configWith = (policies: readonly object[]) => engineConfigOf(parseConfig(stringify({ policies }), { env: {} }));

const item = (operation_type: string, target_id: string) => ({
  operation_type,
  target_type: 'CONFIG',
  target_id,
  ...(operation_type === 'DELETE' ? {} : { after_state: { v: 1 } }),
});

/** The sequence: each change-set is created, then submitted unless said otherwise. */
const SEQUENCE = [
  { name: 'plain', body: () => uiButton(), submit: false },
  { name: 'delete', body: () => configChange(undefined, { items: [item('DELETE', 'config.old')] }), submit: false },
  { name: 'security', body: () => configChange('security.mfa'), submit: true },
  {
    name: 'big',
    body: () =>
      configChange(undefined, { items: [item('CREATE', 'c.1'), item('CREATE', 'c.2'), item('CREATE', 'c.3')] }),
    submit: true,
  },
  { name: 'freeze', body: () => configChange(undefined, { title: 'Change during the freeze' }), submit: true },
  { name: 'plain-config', body: () => configChange(), submit: true },
];

type Outcome = { create: ChangeSet | LedgerError; submit?: ChangeSet | LedgerError | undefined };

async function attempt<T>(run: () => Promise<T>): Promise<T | LedgerError> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof LedgerError) return error;
    throw error;
  }
}

async function runSequence(f: Fixture, ids: string[]): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  for (const [n, step] of SEQUENCE.entries()) {
    const body = { ...step.body(), change_set_id: ids[n] };
    const created = await attempt(() => f.engine.create(f.p['Agent-D']!, body));
    const outcome: Outcome = { create: created };
    if (step.submit && !(created instanceof LedgerError)) {
      outcome.submit = await attempt(() => f.engine.submit(f.p['Agent-D']!, created.change_set_id));
    }
    outcomes.set(ids[n]!, outcome);
  }
  return outcomes;
}

/** The shadow results of a change-set at an action: matched policy → what it would have done. */
async function shadowOf(db: Db, changeSetId: string, action: string): Promise<Record<string, string>> {
  const { rows } = await db.query<{ policy: string; would: string }>(
    'SELECT policy, would FROM policy_shadow_results WHERE change_set_id = $1 AND action = $2 AND matched',
    [changeSetId, action],
  );
  return Object.fromEntries(rows.map((r) => [r.policy, r.would]));
}

/** What the enforcing ledger did at an action, in the same terms. */
function enforcedOf(outcome: ChangeSet | LedgerError, action: string): Record<string, string> {
  if (outcome instanceof LedgerError) {
    expect(outcome.code).toBe('POLICY_DENIED');
    return Object.fromEntries((outcome.details ?? []).map((d) => [d['policy'] as string, 'deny']));
  }
  return Object.fromEntries(
    outcome.policy_evaluations.filter((e) => e.action === action && e.matched).map((e) => [e.policy, e.effect]),
  );
}

describeEachBackend('policies in shadow mode', (backend: Backend) => {
  let shadow: Fixture;
  let enforced: Fixture;
  let bare: Fixture;
  const ids = SEQUENCE.map((s, n) => `SHADOW-${s.name}-${n}`);
  let results: { shadow: Map<string, Outcome>; enforced: Map<string, Outcome>; bare: Map<string, Outcome> };

  beforeAll(async () => {
    shadow = await makeFixture(await backend.open(), configWith(POLICIES.map((p) => ({ ...p, mode: 'shadow' }))));
    enforced = await makeFixture(await backend.open(), configWith(POLICIES));
    bare = await makeFixture(await backend.open(), configWith([]));
    results = {
      shadow: await runSequence(shadow, ids),
      enforced: await runSequence(enforced, ids),
      bare: await runSequence(bare, ids),
    };
  }, HOOK_TIMEOUT);
  afterAll(async () => {
    await Promise.all([shadow.db.close(), enforced.db.close(), bare.db.close()]);
  });

  it('never blocks nor changes a decision: the shadow ledger decides what the ledger without policies does', () => {
    const decided = (o: ChangeSet | LedgerError | undefined) =>
      o instanceof LedgerError
        ? o.code
        : o && {
            status: o.status,
            required_approvals: o.required_approvals,
            steps: o.approval_steps.map((s) => s.name),
            evaluations: o.policy_evaluations,
          };
    for (const id of ids) {
      const mine = results.shadow.get(id);
      const plain = results.bare.get(id);
      expect(decided(mine?.create)).toEqual(decided(plain?.create));
      expect(decided(mine?.submit)).toEqual(decided(plain?.submit));
    }
    // The enforcing ledger did refuse and require: the comparison below is not between two no-ops.
    expect(results.enforced.get(ids[1]!)?.create).toBeInstanceOf(LedgerError);
    expect(results.enforced.get(ids[4]!)?.submit).toBeInstanceOf(LedgerError);
  });

  it('records, per change-set and action, what enforcing the policies did on the other ledger', async () => {
    let compared = 0;
    for (const id of ids) {
      const theirs = results.enforced.get(id);
      if (!theirs) throw new Error(`no outcome for ${id}`);
      expect(await shadowOf(shadow.db, id, 'create'), `${id} at create`).toEqual(enforcedOf(theirs.create, 'create'));
      compared += 1;
      // Past a refused create there is nothing the enforcing ledger could have submitted.
      if (theirs.submit !== undefined) {
        expect(await shadowOf(shadow.db, id, 'submit'), `${id} at submit`).toEqual(enforcedOf(theirs.submit, 'submit'));
        compared += 1;
      }
    }
    expect(compared).toBe(10);
    expect(await shadowOf(shadow.db, ids[1]!, 'create')).toEqual({ 'no-deletes': 'deny' });
    expect(await shadowOf(shadow.db, ids[2]!, 'submit')).toEqual({ 'security-review': 'require_approval' });
  });

  it('writes the results in the action itself: none for an action refused before its policies', async () => {
    const { rows } = await shadow.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM policy_shadow_results WHERE refused',
    );
    expect(rows[0]?.n).toBe(0);
    const before = await shadow.db.query<{ n: number }>('SELECT count(*)::int AS n FROM policy_shadow_results');
    // Submitting an already submitted change-set is refused by the lifecycle (409): nothing is recorded.
    await expect(shadow.engine.submit(shadow.p['Agent-D']!, ids[2]!)).rejects.toMatchObject({
      code: 'INVALID_TRANSITION',
    });
    const after = await shadow.db.query<{ n: number }>('SELECT count(*)::int AS n FROM policy_shadow_results');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('reports per shadow policy how often it matched and what it would have done, with links', async () => {
    const report = await shadow.engine.policies(null, { since: '1d' });
    const byName = Object.fromEntries(report.data.map((p) => [p.name, p]));
    expect(byName['no-deletes']?.mode).toBe('shadow');
    expect(byName['no-deletes']?.shadow).toMatchObject({
      evaluated: 6,
      matched: 1,
      would: { deny: 1, require_approval: 0, warn: 0 },
      refused: 0,
      recent: [{ change_set_id: ids[1], path: `/api/ledger/changesets/${ids[1]}`, action: 'create', would: 'deny' }],
    });
    // create and submit of the security change-set.
    expect(byName['security-review']?.shadow).toMatchObject({ matched: 2, would: { require_approval: 2 } });
    expect(byName['big']?.shadow).toMatchObject({ matched: 2, would: { warn: 2 } });
    expect(byName['weekend-freeze']?.shadow).toMatchObject({ evaluated: 4, matched: 1, would: { deny: 1 } });
    // Outside the window there is nothing to report.
    shadow.clock.advance(2 * 86_400_000);
    const later = await shadow.engine.policies(null, { since: '1d' });
    expect(later.data.every((p) => p.shadow?.evaluated === 0 && p.shadow.recent.length === 0)).toBe(true);
  });
});

describeEachBackend('a shadow policy beside an enforced one', (backend: Backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(
      await backend.open(),
      configWith([
        {
          name: 'no-forbidden',
          actions: ['submit'],
          condition: 'change_set.title.contains("forbidden")',
          effect: 'deny',
        },
        { name: 'never', actions: ['create'], condition: 'change_set.title.contains("never")', effect: 'deny' },
        { name: 'watch-everything', condition: 'true', effect: 'warn', mode: 'shadow' },
      ]),
    );
  }, HOOK_TIMEOUT);
  afterAll(() => f.db.close());

  it('records the shadow results of an action the enforced policy refused, marked refused', async () => {
    const created = await f.engine.create(
      f.p['Agent-D']!,
      configChange(undefined, { title: 'Tune the forbidden knob' }),
    );
    await expect(f.engine.submit(f.p['Agent-D']!, created.change_set_id)).rejects.toMatchObject({
      code: 'POLICY_DENIED',
    });
    const { rows } = await f.db.query<{ action: string; would: string; refused: boolean }>(
      'SELECT action, would, refused FROM policy_shadow_results WHERE change_set_id = $1 ORDER BY id',
      [created.change_set_id],
    );
    expect(rows).toEqual([
      { action: 'create', would: 'warn', refused: false },
      { action: 'submit', would: 'warn', refused: true },
    ]);
    const report = await f.engine.policies(null);
    expect(report.data.find((p) => p.name === 'watch-everything')?.shadow).toMatchObject({ matched: 2, refused: 1 });
  });

  it('stores nothing for a refused create: there is no change-set to attach it to', async () => {
    const before = await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM policy_shadow_results');
    await expect(
      f.engine.create(f.p['Agent-D']!, configChange(undefined, { title: 'A change never allowed' })),
    ).rejects.toMatchObject({ code: 'POLICY_DENIED' });
    const after = await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM policy_shadow_results');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('leaves the shadow policy out of the change-set and its audit trail', async () => {
    const created = await f.engine.create(f.p['Agent-D']!, configChange());
    expect(created.policy_evaluations.map((e) => e.policy)).toEqual(['never']);
    const audit = await f.db.query<{ data: unknown }>(
      "SELECT data FROM audit_entries WHERE change_set = $1 AND action = 'policy_evaluation'",
      [created.id],
    );
    expect(audit.rows).toHaveLength(1);
    expect(JSON.stringify(audit.rows)).not.toContain('watch-everything');
  });
});
