// A ledger served over real HTTP for the MCP tests: PGlite, the seed's principals, the event feed
// (wait_for_decision needs it) and the app listening on a free port.
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { EventFeed } from '../../src/notify/event-feed.js';
import { ChangeSetWaiters } from '../../src/notify/waiters.js';
import { migrate } from '../../src/store/migrator.js';
import { openPgliteDb } from '../../src/store/pglite-db.js';
import { type Fixture, makeFixture } from '../helpers/fixture.js';

export interface LedgerServer {
  f: Fixture;
  app: LedgerApp;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The waits open on GET …/wait (wait_for_decision's). */
  waiters: ChangeSetWaiters;
  close(): Promise<void>;
}

export async function startLedgerServer(): Promise<LedgerServer> {
  const db = await openPgliteDb();
  await migrate(db);
  const f = await makeFixture(db);
  const feed = new EventFeed({ db, pollIntervalMs: 200 });
  await feed.start();
  const waiters = new ChangeSetWaiters({ feed, read: (id) => f.engine.get(id) });
  const app = await buildApp({ engine: f.engine, events: feed, waiters });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    f,
    app,
    url,
    waiters,
    async close() {
      await app.close();
      await feed.stop();
      await db.close();
    },
  };
}
