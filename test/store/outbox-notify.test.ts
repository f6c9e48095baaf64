// The outbox NOTIFY on PostgreSQL: the adapter sends it after the commit (its connections tell the
// trigger so), the last one goes out before the adapter closes, and any other writer still
// notifies through the trigger (migrations 0004 and 0014).
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { describePostgres, TEST_DATABASE_URL } from '../helpers/backends.js';
import { eventually } from '../helpers/sse.js';

const insertEvent = `INSERT INTO outbox_events (type, occurred_at, actor, change_set, envelope)
  VALUES ('changeset.created', now(), $1, NULL, '{"type": "changeset.created"}'::jsonb)`;

describePostgres('outbox NOTIFY', (backend) => {
  let listener: pg.Client;
  let heard = 0;
  beforeAll(async () => {
    listener = new pg.Client({ connectionString: TEST_DATABASE_URL! });
    listener.on('notification', (message) => {
      if (message.channel === 'changeledger_events') heard++;
    });
    await listener.connect();
    await listener.query('LISTEN changeledger_events');
  });
  afterAll(async () => {
    await listener.end();
  });

  it('is sent by the adapter after its commit, and before the adapter closes', async () => {
    const db: Db = await backend.open({ max: 2 });
    const setting = await db.query<{ on: string }>("SELECT current_setting('changeledger.notify_after_commit') AS on");
    expect(setting.rows[0]!.on).toBe('on');
    const before = heard;
    await db.transaction((tx) => tx.query(insertEvent, ['adapter']));
    // Closing at once: the NOTIFY of the commit above still goes out.
    await db.close();
    await eventually(() => heard > before);
  });

  it('is sent by the trigger for a writer that does not notify itself', async () => {
    const db: Db = await backend.open({ max: 1 });
    const schema = (await db.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]!.schema;
    await db.close();
    const other = new pg.Client({ connectionString: TEST_DATABASE_URL!, options: `-c search_path=${schema}` });
    await other.connect();
    try {
      const before = heard;
      await other.query(insertEvent, ['psql']);
      await eventually(() => heard > before);
    } finally {
      await other.end();
    }
  });
});
