// GET /api/ledger/resources/watch (every committed resource write under a prefix, resumable, on any
// instance) and `changeledger resource sync`, which follows it into a directory or a command.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filePathOf, safeName, syncResources } from '../../src/cli/resource-sync.js';
import { createLedgerClient } from '../../src/client/index.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { EventFeed } from '../../src/notify/event-feed.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend, describePostgres, openSecondInstanceDb } from '../helpers/backends.js';
import { type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';
import { run } from '../helpers/run-cli.js';
import { eventually, openSse, type SseEvent } from '../helpers/sse.js';

type Op = { operation_type: string; target_id: string; after_state?: unknown; patch?: unknown };

const changeOf = (items: Op[]) => ({
  change_set_id: uniqueId(),
  title: 'Move settings',
  agent_type: 'BACKEND',
  category: 'CONFIG_UPDATE',
  approval_chain: ['alice'],
  items: items.map((item) => ({ target_type: 'CONFIG', ...item })),
});

/** Creates, approves and applies a change-set; returns its uuid. */
async function applied(f: Fixture, items: Op[]): Promise<string> {
  const cs = await f.engine.create(f.p['Agent-D']!, changeOf(items));
  if (cs.status !== 'APPROVED') {
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
  }
  await f.engine.apply(f.p['Agent-D']!, cs.id, { mode: 'ATOMIC' });
  return cs.id;
}

/** What the resource history says was written under a prefix, in commit order, as the watch shows it. */
async function historyUnder(db: Db, prefix: string) {
  const { rows } = await db.query<{ target_id: string; version: number; present: boolean; change_set: string }>(
    `SELECT h.target_id, h.version, h.present, h.change_set::text AS change_set FROM resource_history h
     JOIN outbox_events e ON e.change_set = h.change_set AND e.occurred_at = h.at
       AND (e.type = 'changeset.rolled_back') = (h.operation = 'ROLLBACK')
       AND e.type IN ('changeset.applied', 'changeset.rolled_back')
     WHERE h.target_id LIKE $1 ORDER BY e.id, h.target_type, h.target_id, h.version`,
    [`${prefix}%`],
  );
  return rows;
}

const writesOf = (events: readonly SseEvent[]) =>
  events
    .filter((e) => e.event === 'resource.changed')
    .map((e) => ({
      target_id: e.data['target_id'],
      version: e.data['version'],
      present: e.data['present'],
      change_set: (e.data['change_set'] as { id: string }).id,
    }));

async function presentFiles(dir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const type of await readdir(dir, { withFileTypes: true })) {
    if (!type.isDirectory()) continue;
    for (const file of await readdir(join(dir, type.name))) {
      if (!file.endsWith('.json')) continue; // a write in progress (its temporary file)
      // The sync may remove a file between the listing and the read.
      const text = await readFile(join(dir, type.name, file), 'utf8').catch(() => null);
      if (text !== null) out[decodeURIComponent(file.slice(0, -'.json'.length))] = JSON.parse(text);
    }
  }
  return out;
}

/** The same targets with the same states, whatever the order of their keys. */
const sameContent = (a: Record<string, unknown>, b: Record<string, unknown>): boolean =>
  Object.keys(a).length === Object.keys(b).length &&
  Object.entries(a).every(([key, value]) => JSON.stringify(value) === JSON.stringify(b[key]));

describeEachBackend('resource watch', (backend) => {
  let f: Fixture;
  let feed: EventFeed;
  let app: LedgerApp;
  let base: string;
  let token: string;
  const auth = () => ({ authorization: `Bearer ${token}` });
  const prefix = `config.payments.${Date.now().toString(36)}.`;
  const watchUrl = (query: string) => `${base}/api/ledger/resources/watch?${query}`;

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    feed = new EventFeed({ db: f.db, pollIntervalMs: 200 });
    await feed.start();
    app = await buildApp({ engine: f.engine, events: feed, eventsHeartbeatMs: 200 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    token = (await f.engine.issueToken(null, 'olga')).token;
  });
  afterAll(async () => {
    await app.close();
    await feed.stop();
    await f.db.close();
  });

  it('streams the writes under the prefix, commit by commit, with rollbacks, and only those', async () => {
    const client = await openSse(watchUrl(`prefix=${encodeURIComponent(prefix)}`), auth());
    expect(client.status).toBe(200);
    await client.waitFor((events) => events.some((e) => e.event === 'ready'));
    const first = await applied(f, [
      { operation_type: 'CREATE', target_id: `${prefix}limits`, after_state: { max: 10 } },
      { operation_type: 'CREATE', target_id: `${prefix}fees`, after_state: { rate: 2 } },
      { operation_type: 'CREATE', target_id: `config.elsewhere.${Date.now()}`, after_state: { x: 1 } },
    ]);
    await applied(f, [{ operation_type: 'UPDATE', target_id: `${prefix}limits`, after_state: { max: 20 } }]);
    const undone = await applied(f, [{ operation_type: 'DELETE', target_id: `${prefix}fees` }]);
    await f.engine.rollback(f.p['Agent-D']!, undone, { reason: 'fees are still needed' });

    const expected = await historyUnder(f.db, prefix);
    expect(expected.map((w) => [w.target_id.slice(prefix.length), w.version, w.present])).toEqual([
      ['fees', 1, true],
      ['limits', 1, true],
      ['limits', 2, true],
      ['fees', 2, false],
      ['fees', 3, true],
    ]);
    const events = await client.waitFor((all) => writesOf(all).length >= expected.length);
    expect(writesOf(events)).toEqual(expected);
    // The last write of each commit carries the commit's ledger version as its id; earlier ones none.
    const [fees, limits] = events.filter((e) => e.event === 'resource.changed');
    expect(fees!.data['change_set']).toMatchObject({ id: first });
    expect(Number.isNaN(fees!.id)).toBe(true);
    expect(limits!.id).toBe(limits!.data['ledger_version']);
    expect(limits!.data).toMatchObject({ operation: 'CREATE', state: { max: 10 }, target_type: 'CONFIG' });
    client.close();
  });

  it('replays the whole history from since_version=0 and resumes exactly after Last-Event-ID', async () => {
    const expected = await historyUnder(f.db, prefix);
    const replay = await openSse(watchUrl(`prefix=${encodeURIComponent(prefix)}&since_version=0`), auth());
    const all = await replay.waitFor((events) => events.some((e) => e.event === 'ready'));
    expect(writesOf(all)).toEqual(expected);
    const ready = all.at(-1)!;
    expect(ready.event).toBe('ready');
    replay.close();

    // Resumed from a commit in the middle: exactly the writes of later commits.
    const middle = all.filter((e) => e.event === 'resource.changed' && !Number.isNaN(e.id))[1]!;
    const resumed = await openSse(watchUrl(`prefix=${encodeURIComponent(prefix)}`), {
      ...auth(),
      'last-event-id': String(middle.id),
    });
    const later = await resumed.waitFor((events) => events.some((e) => e.event === 'ready'));
    const after = all.slice(all.indexOf(middle) + 1).filter((e) => e.event === 'resource.changed');
    expect(writesOf(later)).toEqual(writesOf(after));
    // Then live: a new write arrives after `ready`.
    const live = await applied(f, [{ operation_type: 'CREATE', target_id: `${prefix}new`, after_state: { on: true } }]);
    const withLive = await resumed.waitFor((events) => writesOf(events).length > writesOf(after).length);
    expect(writesOf(withLive).at(-1)).toMatchObject({ target_id: `${prefix}new`, version: 1, change_set: live });
    resumed.close();
  });

  it('refuses anonymous clients and a malformed since_version; 503 without an event feed', async () => {
    const get = (query: string, headers: Record<string, string> = auth()) =>
      app.inject({ method: 'GET', url: `/api/ledger/resources/watch${query}`, headers });
    const anonymous = await get('', {});
    expect([anonymous.statusCode, anonymous.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    const bad = await get('?since_version=-3');
    expect([bad.statusCode, bad.json().code, bad.json().details[0].path]).toEqual([
      400,
      'VALIDATION_FAILED',
      'since_version',
    ]);
    const bare = await buildApp({ engine: f.engine });
    const unavailable = await bare.inject({ method: 'GET', url: '/api/ledger/resources/watch', headers: auth() });
    expect([unavailable.statusCode, unavailable.json().code]).toEqual([503, 'UNAVAILABLE']);
    await bare.close();
    // The resource route beside it still answers for a resource.
    const one = await app.inject({
      method: 'GET',
      url: `/api/ledger/resources/CONFIG/${encodeURIComponent(`${prefix}limits`)}`,
      headers: auth(),
    });
    expect([one.statusCode, one.json().target_id]).toEqual([200, `${prefix}limits`]);
  });

  it('holds no admission slot: with one request allowed in flight, open watches leave room for others', async () => {
    const tight = await buildApp({ engine: f.engine, events: feed, admission: { maxInFlight: 1, waitMs: 0 } });
    const tightBase = await tight.listen({ port: 0, host: '127.0.0.1' });
    const watches = [
      await openSse(`${tightBase}/api/ledger/resources/watch?prefix=x.`, auth()),
      await openSse(`${tightBase}/api/ledger/resources/watch?prefix=y.`, auth()),
    ];
    for (const watch of watches) await watch.waitFor((events) => events.some((e) => e.event === 'ready'));
    const read = await fetch(`${tightBase}/api/ledger/changesets`, { headers: auth() });
    expect(read.status).toBe(200);
    for (const watch of watches) watch.close();
    await tight.close();
  });

  describe('changeledger resource sync', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'changeledger-sync-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    const current = async () => {
      const { rows } = await f.db.query<{ target_id: string; state: unknown }>(
        'SELECT target_id, state FROM resources WHERE present AND target_id LIKE $1',
        [`${prefix}%`],
      );
      return Object.fromEntries(rows.map((r) => [r.target_id, r.state]));
    };

    it('--once reproduces the approved state of the prefix in a directory', async () => {
      const result = await run([
        'resource',
        'sync',
        '--prefix',
        prefix,
        '--dir',
        dir,
        '--once',
        '--url',
        base,
        '--token',
        token,
      ]);
      expect(result.err).toMatch(/caught up at ledger version \d+/);
      expect(result.code).toBe(0);
      expect(await presentFiles(dir)).toEqual(await current());
      expect(Object.keys(await current())).toHaveLength(3);
    });

    it('follows later applies and rollbacks, and resumes after a restart from its state file', async () => {
      const stop = new AbortController();
      const client = createLedgerClient({ baseUrl: base, token });
      const options = { client, prefix, dir, format: 'json' as const, stateFile: join(dir, '.changeledger-sync.json') };
      const following = syncResources({ ...options, once: false, signal: stop.signal, log: () => {} });
      try {
        const moved = await applied(f, [
          { operation_type: 'UPDATE', target_id: `${prefix}limits`, after_state: { max: 30 } },
          { operation_type: 'DELETE', target_id: `${prefix}new` },
        ]);
        await eventually(async () => sameContent(await presentFiles(dir), await current()), 30_000);
        expect(await presentFiles(dir)).toMatchObject({ [`${prefix}limits`]: { max: 30 } });
        await f.engine.rollback(f.p['Agent-D']!, moved, { reason: 'too much' });
        await eventually(async () => (await presentFiles(dir))[`${prefix}new`] !== undefined, 30_000);
        expect(await presentFiles(dir)).toEqual(await current());
      } finally {
        stop.abort();
        await following;
      }

      // While it is stopped: a file removed by hand, and another commit. A resumed sync applies only the
      // new commit (the removed file stays removed: history before the state file is not replayed).
      await rm(filePathOf(dir, 'CONFIG', `${prefix}fees`, 'json'));
      await applied(f, [{ operation_type: 'UPDATE', target_id: `${prefix}limits`, after_state: { max: 40 } }]);
      const resumed = await syncResources({
        ...options,
        once: true,
        signal: new AbortController().signal,
        log: () => {},
      });
      expect(resumed.writes).toBe(1);
      const files = await presentFiles(dir);
      expect(files[`${prefix}limits`]).toEqual({ max: 40 });
      expect(files[`${prefix}fees`]).toBeUndefined();
      const saved = JSON.parse(await readFile(options.stateFile, 'utf8'));
      expect(saved.ledger_version).toBe(resumed.ledgerVersion);
    });

    it('--exec runs a command per write with the state on stdin', async () => {
      const log = join(dir, 'exec.log');
      const result = await run([
        'resource',
        'sync',
        '--prefix',
        prefix,
        '--exec',
        `printf '%s %s %s ' "$CHANGELEDGER_TARGET_ID" "$CHANGELEDGER_VERSION" "$CHANGELEDGER_PRESENT" >> ${log}; cat >> ${log}; echo >> ${log}`,
        '--state-file',
        join(dir, 'exec-state.json'),
        '--once',
        '--url',
        base,
        '--token',
        token,
      ]);
      expect(result.code).toBe(0);
      const lines = (await readFile(log, 'utf8')).split('\n').filter((line) => line.trim() !== '');
      const expected = await historyUnder(f.db, prefix);
      expect(lines.map((line) => line.split(' ').slice(0, 3).join(' '))).toEqual(
        expected.map((w) => `${w.target_id} ${w.version} ${w.present}`),
      );
      expect(lines[0]).toContain('{"rate":2}');
    });

    it('names files safely whatever the target id', () => {
      expect(safeName('a/b')).toBe('a%2Fb');
      expect(safeName('..')).toBe('%2E%2E');
      expect(safeName('x'.repeat(300))).toMatch(/^sha256-[0-9a-f]{64}$/);
    });
  });
});

describePostgres('resource watch across instances', (backend) => {
  let f: Fixture;
  let otherDb: Db;
  let feed: EventFeed;
  let app: LedgerApp;
  let url: string;
  let token: string;

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    otherDb = await openSecondInstanceDb(f.db);
    // Instance B serves the watch; the change-sets are applied through instance A (f.engine).
    feed = new EventFeed({ db: otherDb, pollIntervalMs: 60_000 });
    await feed.start();
    app = await buildApp({ engine: new Engine({ db: otherDb, config: DEFAULT_ENGINE_CONFIG }), events: feed });
    url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/api/ledger/resources/watch`;
    token = (await f.engine.issueToken(null, 'olga')).token;
  });
  afterAll(async () => {
    await app.close();
    await feed.stop();
    await otherDb.close();
    await f.db.close();
  });

  it('shows a client of instance B the writes applied through instance A (woken by NOTIFY: the poll is a minute away)', async () => {
    const prefix = `config.cross.${Date.now().toString(36)}.`;
    const client = await openSse(`${url}?prefix=${encodeURIComponent(prefix)}`, { authorization: `Bearer ${token}` });
    await client.waitFor((events) => events.some((e) => e.event === 'ready'));
    await applied(f, [{ operation_type: 'CREATE', target_id: `${prefix}a`, after_state: { n: 1 } }]);
    const events = await client.waitFor((all) => writesOf(all).length >= 1, 5_000);
    expect(writesOf(events)).toEqual(await historyUnder(f.db, prefix));
    client.close();
  });
});
