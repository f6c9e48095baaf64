// LISTEN on PostgreSQL: notifications arrive; a dropped connection comes back by itself and says so
// (onNotify after reconnecting, since what was sent meanwhile is lost); closing stops it for good.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PgListener } from '../../src/store/pg-listener.js';
import { describePostgres, TEST_DATABASE_URL } from '../helpers/backends.js';
import { eventually } from '../helpers/sse.js';

describePostgres('PostgreSQL listener', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL! });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
  });

  it('hears notifications, reconnects after its connection is killed, and stops when closed', async () => {
    const name = `listener_${randomBytes(4).toString('hex')}`;
    const channel = `test_${name}`;
    let heard = 0;
    const listener = new PgListener({
      newClient: () => new pg.Client({ connectionString: TEST_DATABASE_URL!, application_name: name }),
      channel,
      onNotify: () => heard++,
      minDelayMs: 20,
      maxDelayMs: 100,
    });
    await listener.start();
    await admin.query('SELECT pg_notify($1, $2)', [channel, '']);
    await eventually(() => heard === 1);

    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
    // Reconnected: it reports a possible miss once, then hears new notifications again.
    await eventually(() => heard === 2 && listener.connected);
    await admin.query('SELECT pg_notify($1, $2)', [channel, '']);
    await eventually(() => heard === 3);

    await listener.close();
    expect(listener.connected).toBe(false);
    await admin.query('SELECT pg_notify($1, $2)', [channel, '']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard).toBe(3);
    const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [name]);
    expect(rows).toEqual([]);
  });
});
