// Every route of the API × every kind of caller → the status docs/design.md#lifecycle (who may act), docs/design.md#identity-and-access (identity
// and access) and docs/errors.md (error shape) ask for. The table below is the specification written out by
// hand: check a row against docs/design.md, not against src/.
//
// Callers: anonymous (no Authorization), an unknown token, a revoked token (an admin's), the
// creator of the change-set (Agent-D), an eligible approver (alice, via approval_chain), an
// ineligible principal (bob), an operator (olga, group operator) and an admin (root, group admin).
// Every allowed transition runs on a fresh change-set in the status the action needs; the refusals
// of a row share one. Every refusal must have the error shape and leave no row behind.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { candidateEngineConfig } from '../../src/config.js';
import type { ChangeSet, Status } from '../../src/core/types.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';
import { trace as traceOf } from '../helpers/trace.js';

const CALLERS = ['anonymous', 'unknown', 'revoked', 'creator', 'approver', 'ineligible', 'operator', 'admin'] as const;
type Caller = (typeof CALLERS)[number];

/** Who plays each authenticated role (test/helpers/fixture.ts; configChange() is by Agent-D, chain [alice]). */
const PLAYED_BY = {
  creator: 'Agent-D',
  approver: 'alice',
  ineligible: 'bob',
  operator: 'olga',
  admin: 'root',
} as const satisfies Partial<Record<Caller, string>>;

/** What a row's request needs to exist first. */
type Needs = 'nothing' | 'resource' | 'principal' | 'token' | Status;

interface Row {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  needs: Needs;
  expected: Record<Caller, number>;
}

function row(route: string, needs: Needs, ...statuses: number[]): Row {
  const [method, path] = route.split(' ') as [Row['method'], string];
  if (statuses.length !== CALLERS.length) throw new Error(`${route}: one status per caller`);
  return {
    method,
    path,
    needs,
    expected: Object.fromEntries(CALLERS.map((c, i) => [c, statuses[i]!])) as Row['expected'],
  };
}

// biome-ignore format: the matrix reads as a table
const MATRIX: readonly Row[] = [
  //  route (under /api/ledger)              needs                anon unkn revk creat appr inel oper admin
  // Public (docs/design.md#http-api): the OpenAPI document needs no token, and a bad one is not looked at.
  row('GET /openapi.json',                   'nothing',           200, 200, 200, 200, 200, 200, 200, 200),
  // Any active principal may propose (docs/design.md#lifecycle "create: any active principal").
  row('POST /changesets',                    'nothing',           401, 401, 401, 201, 201, 201, 201, 201),
  // Reads: any authenticated principal (docs/design.md#identity-and-access).
  row('GET /changesets',                     'nothing',           401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /changesets/:id',                 'APPLIED',           401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /changesets/:id/plan',            'APPLIED',           401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /changesets/:id/audit',           'APPLIED',           401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /resources',                      'nothing',           401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /resources/:type/:target',        'resource',          401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /resources/:type/:target/history','resource',          401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /audit/verify',                   'nothing',           401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /me',                             'nothing',           401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /principals',                     'nothing',           401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /principals/:principal',          'principal',         401, 401, 401, 200, 200, 200, 200, 200),
  row('GET /stats/activity',                 'nothing',           401, 401, 401, 200, 200, 200, 200, 200),
  // Transitions (docs/design.md#lifecycle). Edit, submit, withdraw, reopen: the creator only.
  row('PATCH /changesets/:id',               'DRAFT',             401, 401, 401, 200, 403, 403, 403, 403),
  row('POST /changesets/:id/submit',         'DRAFT',             401, 401, 401, 200, 403, 403, 403, 403),
  row('POST /changesets/:id/withdraw',       'PENDING_APPROVAL',  401, 401, 401, 200, 403, 403, 403, 403),
  row('POST /changesets/:id/reopen',         'REJECTED',          401, 401, 401, 200, 403, 403, 403, 403),
  // Close: the creator or an admin (an approver rejects through /approve, not /close).
  row('POST /changesets/:id/close',          'DRAFT',             401, 401, 401, 200, 403, 403, 403, 200),
  // Approve: an eligible approver; never the creator (separation of duties); admins are eligible (docs/design.md#approvals).
  row('POST /changesets/:id/approve',        'PENDING_APPROVAL',  401, 401, 401, 403, 200, 403, 403, 200),
  // Apply and rollback: the creator, group operator, group admin — not the approver as such.
  row('POST /changesets/:id/apply',          'APPROVED',          401, 401, 401, 200, 403, 403, 200, 200),
  row('POST /changesets/:id/rollback',       'APPLIED',           401, 401, 401, 200, 403, 403, 200, 200),
  // Principal and token administration: group admin only (docs/design.md#identity-and-access).
  row('POST /principals',                    'nothing',           401, 401, 401, 403, 403, 403, 403, 201),
  row('PATCH /principals/:principal',        'principal',         401, 401, 401, 403, 403, 403, 403, 200),
  row('POST /principals/:principal/tokens',  'principal',         401, 401, 401, 403, 403, 403, 403, 201),
  row('DELETE /tokens/:token',               'token',             401, 401, 401, 403, 403, 403, 403, 200),
  // Policies: everyone reads the enforced ones; replaying a candidate is for admins (docs/trust.md).
  row('GET /policies',                       'nothing',           401, 401, 401, 200, 200, 200, 200, 200),
  row('POST /policies/replay',               'nothing',           401, 401, 401, 403, 403, 403, 403, 200),
];

/** The body each route is sent: valid, so only the caller decides the outcome. */
function bodyFor(r: Row): unknown {
  const { method, path } = r;
  if (method === 'POST' && path === '/changesets') return configChange();
  if (method === 'PATCH' && path === '/changesets/:id') return { title: 'Edited by the matrix' };
  if (path.endsWith('/approve')) return { decision: 'APPROVED', reason: 'looks right' };
  if (path.endsWith('/apply')) return { mode: 'ATOMIC' };
  if (/\/(withdraw|reopen|close|rollback)$/.test(path)) return { reason: 'authorization matrix' };
  if (method === 'POST' && path === '/principals') return { id: uniqueId('P'), kind: 'service' };
  if (method === 'PATCH' && path === '/principals/:principal') return { display_name: 'Renamed by the matrix' };
  if (path.endsWith('/tokens')) return { name: 'matrix' };
  if (path === '/policies/replay') return { config: '' };
  return undefined;
}

interface Subject {
  id?: string;
  type?: string;
  target?: string;
  principal?: string;
  token?: string;
}

describeEachBackend('authorization matrix', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  const bearer: Partial<Record<Caller, string>> = {};

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine, candidateConfig: candidateEngineConfig });
    for (const [caller, id] of Object.entries(PLAYED_BY))
      bearer[caller as Caller] = (await f.engine.issueToken(null, id)).token;
    bearer.unknown = `clg_${randomBytes(32).toString('base64url')}`;
    // A revoked token of an admin: revocation must win over the most powerful principal.
    const revoked = await f.engine.issueToken(null, 'root');
    await f.engine.revokeToken(f.p['root']!, revoked.token_id);
    bearer.revoked = revoked.token;
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  const trace = () => traceOf(f.db);

  /** A configChange() by the creator, brought to `status` through the engine. */
  async function changeSetIn(status: Status): Promise<ChangeSet> {
    const creator = f.p[PLAYED_BY.creator]!;
    let cs = await f.engine.create(creator, configChange());
    if (status === 'REJECTED') cs = await f.engine.close(creator, cs.id, { reason: 'to reopen' });
    if (['PENDING_APPROVAL', 'APPROVED', 'APPLIED'].includes(status)) cs = await f.engine.submit(creator, cs.id);
    if (['APPROVED', 'APPLIED'].includes(status))
      cs = await f.engine.decide(f.p[PLAYED_BY.approver]!, cs.id, { decision: 'APPROVED' });
    if (status === 'APPLIED') {
      await f.engine.apply(creator, cs.id, { mode: 'ATOMIC' });
      cs = await f.engine.get(cs.id);
    }
    expect(cs.status).toBe(status);
    return cs;
  }

  async function subjectFor(needs: Needs): Promise<Subject> {
    if (needs === 'nothing') return {};
    if (needs === 'principal') {
      const id = uniqueId('subject');
      await f.engine.createPrincipal(
        null,
        {
          id,
          kind: 'service',
          display_name: id,
          email: null,
          slack_id: null,
          groups: [],
          risk: null,
          active: true,
        },
        { withToken: false },
      );
      return { principal: id };
    }
    if (needs === 'token') return { token: (await f.engine.issueToken(null, 'bob', 'to revoke')).token_id };
    const cs = await changeSetIn(needs === 'resource' ? 'APPLIED' : needs);
    const item = cs.items[0]!;
    return { id: cs.change_set_id, type: item.target_type, target: item.target_id };
  }

  function urlOf(r: Row, s: Subject): string {
    const fill = (name: keyof Subject) => encodeURIComponent(s[name] ?? `missing-${name}`);
    const path = r.path
      .replace(':id', fill('id'))
      .replace(':type', fill('type'))
      .replace(':target', fill('target'))
      .replace(':principal', fill('principal'))
      .replace(':token', fill('token'));
    return `/api/ledger${path}`;
  }

  const headersOf = (caller: Caller): Record<string, string> =>
    caller === 'anonymous' ? {} : { authorization: `Bearer ${bearer[caller]}` };

  for (const r of MATRIX) {
    const allowed = CALLERS.filter((c) => r.expected[c] < 300);
    it(`${r.method} ${r.path}: ${allowed.length ? allowed.join(', ') : 'nobody'} allowed`, async () => {
      const shared = await subjectFor(r.needs);
      const actual = {} as Record<Caller, number>;
      for (const caller of CALLERS) {
        // An allowed change acts on a subject of its own, so the next caller still finds the status it needs.
        const subject = r.method !== 'GET' && r.expected[caller] < 300 ? await subjectFor(r.needs) : shared;
        const body = bodyFor(r);
        const before = await trace();
        const res = await app.inject({
          method: r.method,
          url: urlOf(r, subject),
          headers: headersOf(caller),
          ...(body === undefined ? {} : { payload: body as object }),
        });
        actual[caller] = res.statusCode;
        if (res.statusCode < 400) continue;
        const what = `${r.method} ${r.path} as ${caller}`;
        const error = res.json();
        expect.soft(error, `${what}: error shape`).toEqual({
          statusCode: res.statusCode,
          code: expect.any(String),
          error: expect.any(String),
          message: expect.any(String),
          ...(error.details === undefined ? {} : { details: expect.any(Array) }),
          fix: expect.stringMatching(/\S/),
        });
        if (res.statusCode === 401) expect.soft(error.code, what).toBe('UNAUTHENTICATED');
        if (res.statusCode === 403) {
          expect.soft(error.code, what).toBe('FORBIDDEN');
          // The reason says who may act ("… is for its creator", "… is for group admin") or why not.
          expect.soft(error.message, `${what}: a reason`).toMatch(/ is for |separation of duties/);
          // The fix says whom to turn to: the creator by id, a group, an approver, or an admin.
          expect.soft(error.fix, `${what}: whom to ask`).toMatch(/Agent-D|group|approval_steps|admin/);
        }
        expect.soft(await trace(), `${what}: a refused request leaves no trace`).toEqual(before);
      }
      expect(actual).toEqual(r.expected);
    });
  }

  it('refuses anonymous readers however the /api/ledger prefix is spelt', async () => {
    const shared = await subjectFor('APPLIED');
    const principal = await subjectFor('principal');
    const reads = MATRIX.filter((r) => r.method === 'GET' && r.path !== '/openapi.json');
    const answers: Record<string, number> = {};
    for (const r of reads) {
      const url = urlOf(r, { ...shared, ...principal });
      // The router decodes percent-escapes before matching, so each spelling reaches the same route.
      for (const spelt of [url.replace('/api/', '/%61pi/'), url.replace('/api/', '/%61%70%69/')]) {
        const res = await app.inject({ method: 'GET', url: spelt });
        answers[spelt] = res.statusCode;
      }
    }
    expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((url) => [url, 401])));
  });
});
