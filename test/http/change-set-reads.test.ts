// GET /changesets/:id gathered into batches and answered from each instance's view cache
// (engine/reads.ts): concurrent reads share one statement, each still answered with its own
// change-set or its own 404; a repeated read sends only the cheap check, never the full read; and
// never is an answer older than a write committed before the request was sent — on this instance or
// another, to the change-set or to the principals its deciders are made of. The answers are those
// of the plain read, byte for byte.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compilePolicies } from '../../src/core/policy.js';
import type { ChangeSet } from '../../src/core/types.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { readChangeSet } from '../../src/store/change-set-read.js';
import type { Db } from '../../src/store/db.js';
import {
  type Backend,
  describeEachBackend,
  describePostgres,
  openSecondInstanceDb,
  TEST_DATABASE_URL,
} from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import { SpyDb } from '../helpers/spy-db.js';

const CONFIG = Object.freeze({
  ...DEFAULT_ENGINE_CONFIG,
  policies: compilePolicies([
    { name: 'security-review', condition: 'true', effect: 'require_approval', approvers: ['group:security'], count: 1 },
  ]),
});

const person = (id: string, groups: string[]) => ({
  id,
  kind: 'human' as const,
  display_name: id,
  email: `${id}@example.com`,
  slack_id: null,
  groups,
  risk: null,
  active: true,
});

/** The full read of a view (not the check of a cached one): it alone aggregates the items. */
const FULL_READ = /AS items/;

/** A second instance on the fixture's database: its own pool on PostgreSQL, the one database on PGlite. */
const secondDb = async (f: Fixture): Promise<Db> => (f.db.kind === 'pglite' ? f.db : openSecondInstanceDb(f.db));

describeEachBackend('GET /changesets/:id gathered and cached', (backend: Backend) => {
  let f: Fixture;
  let spy: SpyDb;
  let engineA: Engine;
  let appA: LedgerApp;
  /** The same route without a cache, for the byte-for-byte comparison. */
  let plainApp: LedgerApp;
  let dbB: Db;
  let engineB: Engine;
  let token: string;

  const get = (id: string, headers: Record<string, string> = {}, app = appA) =>
    app.inject({
      method: 'GET',
      url: `/api/ledger/changesets/${id}`,
      headers: { authorization: `Bearer ${token}`, ...headers },
    });
  const deciderIds = (view: ChangeSet) => view.deciders.flatMap((step) => step.eligible.map((d) => d.id));
  const submitted = async () => {
    const created = await engineB.create(f.p['Agent-D']!, configChange());
    return engineB.submit(f.p['Agent-D']!, created.id);
  };

  beforeAll(async () => {
    f = await makeFixture(await backend.open(), CONFIG);
    spy = new SpyDb(f.db);
    engineA = new Engine({ db: spy, config: CONFIG });
    appA = await buildApp({ engine: engineA });
    plainApp = await buildApp({ engine: new Engine({ db: f.db, config: CONFIG, viewCacheBytes: 0 }) });
    dbB = await secondDb(f);
    engineB = new Engine({ db: dbB, config: CONFIG });
    for (const who of ['ana', 'bo', 'cy'])
      await engineB.createPrincipal(null, person(who, ['security']), { withToken: false });
    token = (await f.engine.issueToken(null, 'alice')).token;
  });
  afterAll(async () => {
    await appA.close();
    await plainApp.close();
    if (dbB !== f.db) await dbB.close();
    await f.db.close();
  });

  it('answers concurrent reads with one statement, each with its own change-set or its own 404', async () => {
    const sets = await Promise.all([1, 2, 3, 4].map(() => engineB.create(f.p['Agent-D']!, configChange())));
    await get(sets[0]!.id); // the token is looked up once, before
    const references = [
      ...sets.map((cs) => cs.id),
      ...sets.map((cs) => cs.change_set_id),
      sets[0]!.id.toUpperCase(),
      '00000000-0000-4000-8000-000000000000',
      'CS-NO-SUCH-ONE',
      sets[1]!.id, // twice in one batch
    ];
    const sent = spy.sent.length;
    const answers = await Promise.all(references.map((reference) => get(reference)));
    const reads = spy.sent.slice(sent).filter((sql) => /FROM change_sets c WHERE/.test(sql));
    expect(reads.length).toBeLessThanOrEqual(2); // the check of the cached one, the read of the others
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 404, 200]);
    const expected = [...sets, ...sets, sets[0]!, null, null, sets[1]!];
    answers.forEach((answer, i) => {
      const cs = expected[i];
      if (!cs) {
        expect(answer.json()).toMatchObject({ code: 'NOT_FOUND' });
        expect(answer.json().message).toContain(references[i]);
      } else {
        expect(answer.json()).toMatchObject({ id: cs.id, change_set_id: cs.change_set_id });
        expect(answer.headers.etag).toBe(`"${cs.version}"`);
      }
    });
  });

  it('answers a repeated read from the cache after a check, byte for byte the plain answer, with ETag and 304', async () => {
    const cs = await submitted();
    const first = await get(cs.id);
    const sent = spy.sent.length;
    const again = await get(cs.id);
    expect(spy.sent.slice(sent).filter((sql) => FULL_READ.test(sql))).toEqual([]);
    expect(spy.sent.slice(sent).filter((sql) => /FROM change_sets/.test(sql))).toHaveLength(1);
    const plain = await get(cs.id, {}, plainApp);
    expect(again.body).toBe(first.body);
    expect(again.body).toBe(plain.body);
    expect(again.headers['content-type']).toBe(plain.headers['content-type']);
    expect(again.headers.etag).toBe(`"${cs.version}"`);
    expect((await get(cs.id, { 'if-none-match': `"${cs.version}"` })).statusCode).toBe(304);
    expect((await get(cs.id, { 'if-none-match': `"${cs.version - 1}"` })).statusCode).toBe(200);
  });

  it('sees a write committed on another instance on the very next read', async () => {
    const cs = await engineB.create(f.p['Agent-D']!, configChange());
    expect((await get(cs.id)).json().title).toBe('Tune a setting');
    await get(cs.id); // cached now
    const edited = await engineB.edit(f.p['Agent-D']!, cs.id, { title: 'Tuned elsewhere' });
    const next = await get(cs.id, { 'if-none-match': `"${cs.version}"` });
    expect(next.statusCode).toBe(200);
    expect(next.json()).toMatchObject({ title: 'Tuned elsewhere', version: edited.version });
    expect(next.body).toBe((await get(cs.id, {}, plainApp)).body);
  });

  it('reflects a deactivated approver and a changed group in deciders at once, with the same version', async () => {
    const cs = await submitted();
    const before = (await get(cs.id)).json() as ChangeSet;
    expect(deciderIds(before)).toEqual(expect.arrayContaining(['ana', 'bo', 'cy']));
    await get(cs.id); // cached now

    await engineB.updatePrincipal(f.p['root']!, 'cy', { active: false });
    const withoutCy = (await get(cs.id)).json() as ChangeSet;
    expect(withoutCy.version).toBe(before.version);
    expect(deciderIds(withoutCy)).not.toContain('cy');

    await engineB.updatePrincipal(f.p['root']!, 'bo', { groups: ['ops'] });
    expect(deciderIds((await get(cs.id)).json() as ChangeSet)).not.toContain('bo');
    await engineB.updatePrincipal(f.p['root']!, 'bob', { groups: ['security'] });
    const withBob = await get(cs.id);
    expect(deciderIds(withBob.json() as ChangeSet)).toContain('bob');
    expect(withBob.body).toBe((await get(cs.id, {}, plainApp)).body);

    await engineB.updatePrincipal(f.p['root']!, 'cy', { active: true });
    await engineB.updatePrincipal(f.p['root']!, 'bo', { groups: ['security'] });
    await engineB.updatePrincipal(f.p['root']!, 'bob', { groups: [] });
  });

  it('never answers older than the last write acknowledged before the request, under 50 concurrent readers', async () => {
    const cs = await engineB.create(f.p['Agent-D']!, configChange());
    let acknowledged = cs.version;
    let writing = true;
    const writer = (async () => {
      for (let n = 0; n < 20; n++) {
        acknowledged = (await engineB.edit(f.p['Agent-D']!, cs.id, { title: `Edit ${n}` })).version;
        await new Promise((resolve) => setTimeout(resolve, 10)); // reads in between
      }
      writing = false;
    })();
    const stale: string[] = [];
    let answered = 0;
    const reader = async () => {
      while (writing) {
        const floor = acknowledged;
        const answer = await get(cs.id);
        const view = answer.json() as ChangeSet;
        answered++;
        if (view.version < floor) stale.push(`version ${view.version} after ${floor} was acknowledged`);
        if (answer.headers.etag !== `"${view.version}"`) stale.push(`ETag ${answer.headers.etag} on ${view.version}`);
        if (view.version >= 2 && view.title !== `Edit ${view.version - 2}`)
          stale.push(`title ${view.title} on ${view.version}`);
      }
    };
    await Promise.all([writer, ...Array.from({ length: 50 }, reader)]);
    expect(stale).toEqual([]);
    expect(answered).toBeGreaterThan(200);
    expect((await get(cs.id)).json().version).toBe(acknowledged);
  });

  it('answers as the plain read does after random actions on several change-sets', async () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const sets = await Promise.all([1, 2, 3].map(() => engineB.create(f.p['Agent-D']!, configChange())));
    const actions = [
      (id: string) => engineB.edit(f.p['Agent-D']!, id, { title: `Edit ${random(1000)}` }),
      (id: string) => engineB.submit(f.p['Agent-D']!, id),
      (id: string) => engineB.withdraw(f.p['Agent-D']!, id),
      (id: string) => engineB.reopen(f.p['Agent-D']!, id),
      (id: string) => engineB.decide(f.p['ana']!, id, { decision: random(2) ? 'APPROVED' : 'REJECTED' }),
      () => engineB.updatePrincipal(f.p['root']!, 'ana', { active: random(2) === 0 }),
      () => engineB.updatePrincipal(f.p['root']!, 'cy', { groups: random(2) ? ['security'] : [] }),
    ];
    for (let step = 0; step < 40; step++) {
      const cs = sets[random(sets.length)]!;
      await actions[random(actions.length)]!(cs.id).catch(() => undefined); // a refusal is an outcome too
      const all = await Promise.all(sets.flatMap((s) => [get(s.id), get(s.change_set_id)]));
      for (const [i, s] of sets.entries()) {
        const plain = JSON.parse(JSON.stringify(await readChangeSet(f.db, s.id)));
        expect(all[2 * i]!.json(), `step ${step}`).toEqual(plain);
        expect(all[2 * i + 1]!.body).toBe(all[2 * i]!.body);
      }
    }
    await engineB.updatePrincipal(f.p['root']!, 'ana', { active: true });
  });
});

describePostgres('a batch of reads whose database connection is lost', (backend: Backend) => {
  let f: Fixture;
  let db: Db;
  let app: LedgerApp;
  let admin: pg.Client;
  let token: string;

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    const schema = (await f.db.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]!.schema;
    db = await openSecondInstanceDb(f.db, { max: 4 });
    app = await buildApp({ engine: new Engine({ db, config: DEFAULT_ENGINE_CONFIG }) });
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL! });
    await admin.connect();
    await admin.query(`SET search_path TO ${schema}`);
    token = (await f.engine.issueToken(null, 'alice')).token;
  });
  afterAll(async () => {
    await admin.end();
    await app.close();
    await db.close();
    await f.db.close();
  });

  const get = (id: string) =>
    app.inject({ method: 'GET', url: `/api/ledger/changesets/${id}`, headers: { authorization: `Bearer ${token}` } });
  /** Backends of this test's schema waiting for the lock on change_sets. */
  const blocked = async () =>
    (
      await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM change_sets c WHERE%'
           AND pid <> pg_backend_pid() AND datname = current_database()`,
      )
    ).rows.map((row) => row.pid);

  it('answers every request of the batch 503 UNAVAILABLE, never 500, and the next batch works', async () => {
    const sets = await Promise.all([1, 2, 3].map(() => f.engine.create(f.p['Agent-D']!, configChange())));
    await get(sets[0]!.id);
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE change_sets IN ACCESS EXCLUSIVE MODE');
    const answers = Promise.all(sets.flatMap((cs) => [get(cs.id), get(cs.change_set_id), get(cs.id)]));
    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      pids = await blocked();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    pids = await blocked();
    expect(pids).toHaveLength(1); // one batch, one statement, for all nine
    await admin.query('SELECT pg_terminate_backend($1)', [pids[0]]);
    await admin.query('ROLLBACK');
    const failed = await answers;
    expect(failed.map((a) => a.statusCode)).toEqual(Array(9).fill(503));
    for (const answer of failed) expect(answer.json()).toMatchObject({ code: 'UNAVAILABLE' });
    const after = await Promise.all(sets.map((cs) => get(cs.change_set_id)));
    expect(after.map((a) => a.statusCode)).toEqual([200, 200, 200]);
  });
});
