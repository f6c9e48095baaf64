// The change-set view's `deciders`: for each approval step still short of approvals, who may decide
// it — worked out by the rule a decision is checked by (core/approvals.ts isEligibleForStep): group
// members and named principals, never the author, never a deactivated principal — each marked with
// their decision, and never with an email or Slack id. Read through the API by whoever may read the
// change-set (an agent, a person who is not admin, an admin), and equal in the action's answer.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compilePolicies } from '../../src/core/policy.js';
import type { ChangeSet } from '../../src/core/types.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';

const CONFIG = Object.freeze({
  ...DEFAULT_ENGINE_CONFIG,
  policies: compilePolicies([
    // A group step: two members of security.
    { name: 'security-review', condition: 'true', effect: 'require_approval', approvers: ['group:security'], count: 2 },
    // A step naming one principal directly.
    { name: 'owner-signoff', condition: 'true', effect: 'require_approval', approvers: ['bob'], count: 1 },
  ]),
});

const person = (id: string, display_name: string, groups: string[], slack_id: string | null) => ({
  id,
  kind: 'human' as const,
  display_name,
  email: `${id}@example.com`,
  slack_id,
  groups,
  risk: null,
  active: true,
});

const decider = (id: string, display_name: string, decision: 'APPROVED' | null = null) => ({
  id,
  display_name,
  kind: 'human',
  decision,
});

describeEachBackend('deciders of a change-set', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  const tokens: Record<string, string> = {};
  let cs: ChangeSet;

  const request = async (who: string, method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await app.inject({
      method,
      url: `/api/ledger${url}`,
      headers: { authorization: `Bearer ${tokens[who]}` },
      ...(payload ? { payload } : {}),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as ChangeSet;
  };
  const read = (who: string) => request(who, 'GET', `/changesets/${cs.id}`);
  const decide = (who: string) => request(who, 'POST', `/changesets/${cs.id}/approve`, { decision: 'APPROVED' });

  beforeAll(async () => {
    f = await makeFixture(await backend.open(), CONFIG);
    app = await buildApp({ engine: f.engine });
    await f.engine.createPrincipal(null, person('ana', 'Ana Ruiz', ['security'], 'U0ANA'), { withToken: false });
    await f.engine.createPrincipal(null, person('bo', 'Bo Chen', ['security', 'ops'], 'U0BO'), { withToken: false });
    await f.engine.createPrincipal(null, person('cy', 'Cy Gone', ['security'], 'U0CY'), { withToken: false });
    await f.engine.updatePrincipal(f.p['root']!, 'sam', { slack_id: 'U0SAM' });
    for (const who of ['Agent-A', 'alice', 'ana', 'bo', 'bob', 'root', 'sam']) {
      tokens[who] = (await f.engine.issueToken(null, who)).token;
    }
    // sam (a member of security) proposes: its own group's step never lists it.
    const created = await f.engine.create(f.p['sam']!, configChange());
    expect((await f.engine.get(created.id)).deciders).toEqual([]); // a draft: no step is open
    cs = await f.engine.submit(f.p['sam']!, created.id);
    expect(cs.status).toBe('PENDING_APPROVAL');
    // Deactivated after submit: still a member of security, no longer eligible.
    await f.engine.updatePrincipal(f.p['root']!, 'cy', { active: false });
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  it('lists each open step with its active members and named principals, without the author or the deactivated', async () => {
    expect(cs.approval_steps.map((s) => [s.name, s.approvers])).toEqual([
      ['risk', ['alice', 'group:admin']],
      ['security-review', ['group:security']],
      ['owner-signoff', ['bob']],
    ]);
    const { deciders } = await read('alice');
    expect(deciders).toEqual([
      {
        step: 'risk',
        count: 1,
        received: 0,
        eligible: [decider('alice', 'alice'), decider('root', 'root'), decider('root2', 'root2')],
      },
      {
        step: 'security-review',
        count: 2,
        received: 0,
        eligible: [decider('ana', 'Ana Ruiz'), decider('bo', 'Bo Chen')],
      },
      { step: 'owner-signoff', count: 1, received: 0, eligible: [decider('bob', 'bob')] },
    ]);
    // The submit answered while cy was still active: cy was eligible then, as the engine would have judged.
    expect(cs.deciders.find((s) => s.step === 'security-review')?.eligible.map((d) => d.id)).toEqual([
      'ana',
      'bo',
      'cy',
    ]);
  });

  it('marks who decided, drops a step once it has its approvals, and answers the decision with the same field', async () => {
    const afterAna = await decide('ana');
    expect(afterAna.status).toBe('PENDING_APPROVAL');
    expect(afterAna.deciders.find((s) => s.step === 'security-review')).toEqual({
      step: 'security-review',
      count: 2,
      received: 1,
      eligible: [decider('ana', 'Ana Ruiz', 'APPROVED'), decider('bo', 'Bo Chen')],
    });
    expect((await read('alice')).deciders).toEqual(afterAna.deciders);

    const afterAlice = await decide('alice');
    expect(afterAlice.deciders.map((s) => s.step)).toEqual(['security-review', 'owner-signoff']);
    expect((await read('bob')).deciders).toEqual(afterAlice.deciders);
    expect(await f.engine.get(cs.id)).toEqual(await read('Agent-A'));
  });

  it('is the same for every reader: an agent, a person who is not admin, an admin, the author', async () => {
    const seen = await Promise.all(['Agent-A', 'bob', 'root', 'sam'].map(read));
    for (const view of seen) expect(view.deciders).toEqual(seen[0]!.deciders);
    expect(seen[0]!.deciders.length).toBeGreaterThan(0);
  });

  it('carries no email or Slack id of anyone, for any reader, admins included', async () => {
    for (const who of ['Agent-A', 'bob', 'root']) {
      const { deciders } = await read(who);
      const text = JSON.stringify(deciders);
      expect(text).not.toMatch(/email|slack|@example\.com|U0ANA|U0BO|U0SAM|"groups"|"active"/);
      for (const step of deciders) {
        for (const d of step.eligible)
          expect(Object.keys(d).sort()).toEqual(['decision', 'display_name', 'id', 'kind']);
      }
    }
  });

  it('is empty once the change-set no longer awaits decisions', async () => {
    await decide('bo');
    const approved = await decide('bob');
    expect(approved.status).toBe('APPROVED');
    expect(approved.deciders).toEqual([]);
    expect((await read('alice')).deciders).toEqual([]);
  });
});
