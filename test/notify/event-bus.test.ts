// The event bus channels against the real brokers on this machine: NATS JetStream and RabbitMQ.
// A consumer receives every event of a lifecycle in order, with the event id as message id, and a
// broker restart mid-stream loses nothing: the failed delivery is retried, the later ones wait.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { connect as amqpConnect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannels } from '../../src/notify/channels/index.js';
import { natsChannel } from '../../src/notify/channels/nats.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { type AmqpChannel, buildNotifications, type NatsChannel } from '../../src/notify/notify-config.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend } from '../helpers/backends.js';
import {
  AMQP_URL,
  answers,
  describeWithBroker,
  NATS_URL,
  runName,
  startNats,
  startRabbit,
  stopNats,
  stopRabbit,
} from '../helpers/brokers.js';
import { configChange, type Fixture, makeFixture, skipSetUpEvents } from '../helpers/fixture.js';

/** One message as a consumer saw it. */
interface Received {
  /** The event id from the body. */
  id: number;
  type: string;
  change_set: string | null;
  /** Nats-Msg-Id or the AMQP message_id. */
  message_id: string | undefined;
  /** The NATS subject or the AMQP routing key. */
  topic: string;
}

const received = (body: Uint8Array, message_id: string | undefined, topic: string): Received => {
  const envelope = JSON.parse(Buffer.from(body).toString('utf8'));
  return { id: envelope.id, type: envelope.type, change_set: envelope.change_set?.id ?? null, message_id, topic };
};

interface Bus {
  name: 'nats' | 'amqp';
  broker: string;
  url: string;
  /** Where an event of `type` goes (subject or routing key). */
  topic(type: string): string;
  /** The channel's configuration (`at` overrides the broker's address). */
  config(at?: string): Record<string, unknown>;
  /** The consumer's side, set up before anything is published (RabbitMQ drops what no queue takes). */
  prepare(): Promise<void>;
  /** Every message consumed so far, in the order the consumer received them. */
  consume(): Promise<Received[]>;
  tearDown(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

function natsBus(): Bus {
  const name = runName('cltest');
  const prefix = `${name}.events`;
  const stream = name.toUpperCase();
  return {
    name: 'nats',
    broker: `NATS JetStream at ${NATS_URL}`,
    url: NATS_URL,
    topic: (type) => `${prefix}.${type}`,
    config: (at = NATS_URL) => ({ type: 'nats', servers: [at], subject_prefix: prefix, stream }),
    // Nothing to do: a stream keeps what it is given, and the channel creates it.
    prepare: async () => {},
    async consume() {
      const nc = await natsConnect({ servers: NATS_URL });
      try {
        // An ordered consumer: the stream from its first message, as any late subscriber reads it.
        const consumer = await jetstream(nc).consumers.get(stream);
        const out: Received[] = [];
        const { state } = await (await jetstreamManager(nc)).streams.info(stream);
        if (state.messages === 0) return out;
        for await (const m of await consumer.fetch({ max_messages: state.messages, expires: 5_000 })) {
          out.push(received(m.data, m.headers?.get('Nats-Msg-Id'), m.subject));
          if (out.length === state.messages) break;
        }
        return out;
      } finally {
        await nc.close();
      }
    },
    async tearDown() {
      const nc = await natsConnect({ servers: NATS_URL });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
      await nc.close();
    },
    stop: stopNats,
    start: startNats,
  };
}

function amqpBus(): Bus {
  const exchange = runName('cltest');
  const queue = `${exchange}.all`;
  const seen: Received[] = [];
  const withChannel = async <T>(
    fn: (ch: Awaited<ReturnType<Awaited<ReturnType<typeof amqpConnect>>['createChannel']>>) => Promise<T>,
  ) => {
    const connection = await amqpConnect(AMQP_URL);
    try {
      const ch = await connection.createChannel();
      // The consumer's side, declared before anything is published: a durable queue for every key.
      await ch.assertExchange(exchange, 'topic', { durable: true });
      await ch.assertQueue(queue, { durable: true });
      await ch.bindQueue(queue, exchange, '#');
      return await fn(ch);
    } finally {
      await connection.close();
    }
  };
  return {
    name: 'amqp',
    broker: `RabbitMQ at ${AMQP_URL.replace(/\/\/[^@]*@/, '//')}`,
    url: AMQP_URL,
    topic: (type) => type,
    config: (at = AMQP_URL) => ({ type: 'amqp', url: at, exchange }),
    prepare: () => withChannel(async () => {}),
    consume: () =>
      withChannel(async (ch) => {
        for (;;) {
          const m = await ch.get(queue);
          if (m === false) return seen;
          seen.push(received(m.content, m.properties.messageId, m.fields.routingKey));
          ch.ack(m);
        }
      }),
    async tearDown() {
      await withChannel(async (ch) => {
        await ch.deleteQueue(queue);
        await ch.deleteExchange(exchange);
      });
    },
    stop: stopRabbit,
    start: startRabbit,
  };
}

const buses: { bus: Bus; up: boolean }[] = [];
for (const bus of [natsBus(), amqpBus()]) buses.push({ bus, up: await answers(bus.url) });

/** A lifecycle from creation to rollback, in two halves (to restart the broker in between). */
async function firstHalf(f: Fixture): Promise<string> {
  const cs = await f.engine.create(f.p['Agent-D']!, configChange());
  await f.engine.submit(f.p['Agent-D']!, cs.id);
  await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED', reason: 'fine' });
  return cs.id;
}

async function secondHalf(f: Fixture, id: string): Promise<void> {
  await f.engine.apply(f.p['olga']!, id, { mode: 'ATOMIC' });
  await f.engine.rollback(f.p['olga']!, id, { reason: 'undo' });
}

async function eventsOf(db: Db, changeSet: string): Promise<{ id: number; type: string }[]> {
  const { rows } = await db.query<{ id: string; type: string }>(
    'SELECT id, type FROM outbox_events WHERE change_set = $1 ORDER BY id',
    [changeSet],
  );
  return rows.map((row) => ({ id: Number(row.id), type: row.type }));
}

async function deliveriesOf(db: Db, changeSet: string) {
  const { rows } = await db.query<{ event_id: string; status: string; attempts: number; last_error: string | null }>(
    `SELECT d.event_id, d.status, d.attempts, d.last_error FROM deliveries d JOIN outbox_events e ON e.id = d.event_id
     WHERE e.change_set = $1 ORDER BY d.event_id`,
    [changeSet],
  );
  return rows.map((row) => ({ ...row, event_id: Number(row.event_id) }));
}

function dispatcherFor(f: Fixture, config: Record<string, unknown>, maxAttempts = 8, batchSize = 500): Dispatcher {
  const notifications = buildNotifications({
    channels: { bus: config as never },
    routes: [],
    dispatcher: {
      max_attempts: maxAttempts,
      batch_size: batchSize,
      backoff_base_ms: 1_000,
      backoff_max_ms: 10_000,
      timeout_ms: 10_000,
    },
  });
  return new Dispatcher({
    db: f.db,
    notifications,
    channels: createChannels(notifications, { dashboardUrl: 'http://localhost' }),
    clock: () => f.clock.now,
  });
}

for (const { bus, up } of buses) {
  describeEachBackend(`${bus.name} channel`, (backend) => {
    describeWithBroker(`against ${bus.broker}`, bus.broker, up, () => {
      let f: Fixture;
      let dispatcher: Dispatcher;

      beforeAll(async () => {
        f = await makeFixture(await backend.open());
        await skipSetUpEvents(f.db);
        await bus.prepare();
        dispatcher = dispatcherFor(f, bus.config());
      });
      afterAll(async () => {
        await dispatcher?.stop();
        await bus.tearDown().catch(() => {});
        await f?.db.close();
      });

      it('a consumer receives every event of a lifecycle in order, one topic per type, the event id as message id', async () => {
        const id = await firstHalf(f);
        await secondHalf(f, id);
        const events = await eventsOf(f.db, id);
        expect(events.map((e) => e.type)).toEqual([
          'changeset.created',
          'changeset.submitted',
          // One request per eligible approver.
          'changeset.approval_requested',
          'changeset.approval_requested',
          'changeset.approval_requested',
          'changeset.approval_decision',
          'changeset.approved',
          'changeset.applied',
          'changeset.rolled_back',
        ]);
        const pass = await dispatcher.runOnce();
        expect(pass).toMatchObject({ delivered: events.length, retried: 0, dead: 0 });
        const mine = (await bus.consume()).filter((m) => m.change_set === id);
        expect(mine).toEqual(
          events.map((e) => ({
            id: e.id,
            type: e.type,
            change_set: id,
            message_id: String(e.id),
            topic: bus.topic(e.type),
          })),
        );
        expect((await deliveriesOf(f.db, id)).map((d) => [d.status, d.attempts])).toEqual(
          events.map(() => ['DELIVERED', 1]),
        );
      });

      it('two instances dispatching the same channel at once keep the event order', async () => {
        // Small batches, so that the two keep claiming while the other is sending.
        const one = dispatcherFor(f, bus.config(), 8, 2);
        const other = dispatcherFor(f, bus.config(), 8, 2);
        try {
          const ids: string[] = [];
          for (let i = 0; i < 3; i++) ids.push(await firstHalf(f));
          for (const id of ids) await secondHalf(f, id);
          const events = (await Promise.all(ids.map((id) => eventsOf(f.db, id)))).flat().sort((a, b) => a.id - b.id);
          for (let round = 0; round < 20; round++) {
            const passes = await Promise.all([one.runOnce(), other.runOnce(), one.runOnce(), other.runOnce()]);
            if (passes.every((p) => p.delivered + p.retried === 0)) break;
          }
          const mine = (await bus.consume()).filter((m) => ids.includes(m.change_set ?? '')).map((m) => m.id);
          expect(mine).toEqual(events.map((e) => e.id));
          expect(await deliveriesOf(f.db, ids[0]!)).toEqual(
            (await deliveriesOf(f.db, ids[0]!)).map((d) => ({ ...d, status: 'DELIVERED', attempts: 1 })),
          );
        } finally {
          await one.stop();
          await other.stop();
        }
      }, 60_000);

      it('a broker restart mid-stream loses nothing: the failed delivery is retried, the later ones wait their turn', async () => {
        const id = await firstHalf(f);
        const first = (await eventsOf(f.db, id)).length;
        expect((await dispatcher.runOnce()).delivered).toBe(first);
        await bus.stop();
        try {
          await secondHalf(f, id);
          // The first event after the restart fails; the one after it is held back, not attempted.
          expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, retried: 1, dead: 0 });
          const waiting = (await deliveriesOf(f.db, id)).slice(first);
          expect(waiting.map((d) => [d.status, d.attempts])).toEqual([
            ['PENDING', 1],
            ['PENDING', 0],
          ]);
          expect(waiting[0]!.last_error).toMatch(new RegExp(`^${bus.name} publish to .* failed`));
          expect(waiting[1]!.last_error).toMatch(/^held back in event order: event \d+ is not delivered yet/);
          // Not due yet: nothing is sent, the held one does not overtake.
          expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, retried: 0 });
        } finally {
          await bus.start();
        }
        // The channel reconnects by itself; a retry or two may come before the client has.
        for (let round = 0; round < 30; round++) {
          f.clock.advance(60_000);
          await dispatcher.runOnce();
          if ((await deliveriesOf(f.db, id)).every((d) => d.status === 'DELIVERED')) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        const deliveries = await deliveriesOf(f.db, id);
        expect(deliveries.map((d) => d.status)).toEqual(deliveries.map(() => 'DELIVERED'));
        expect(deliveries[first]!.attempts).toBeGreaterThanOrEqual(2);

        const events = await eventsOf(f.db, id);
        const mine = (await bus.consume()).filter((m) => m.change_set === id).map((m) => m.id);
        // At least once and in order: every event, none before an earlier one (a re-sent event
        // may follow itself; consumers drop it by message id).
        expect([...new Set(mine)]).toEqual(events.map((e) => e.id));
        expect(mine).toEqual([...mine].sort((a, b) => a - b));
      }, 180_000);
    });
  });
}

describeWithBroker('nats channel: the stream', 'NATS JetStream', buses[0]!.up, () => {
  it('is created when absent, on <prefix>.>, and drops a re-sent event by its Nats-Msg-Id', async () => {
    const bus = natsBus();
    const config = buildNotifications({ channels: { bus: bus.config() as never } }).channels['bus'] as NatsChannel;
    const channel = natsChannel(config);
    const message = {
      delivery_id: '00000000-0000-4000-8000-000000000001',
      envelope: { id: 41, type: 'changeset.created' },
      recipient: null,
      address: null,
      attempt: 1,
    };
    try {
      await channel.send(message, new AbortController().signal);
      await channel.send({ ...message, attempt: 2 }, new AbortController().signal);
      await channel.send(
        { ...message, envelope: { id: 42, type: 'changeset.submitted' } },
        new AbortController().signal,
      );
      const nc = await natsConnect({ servers: NATS_URL });
      const info = await (await jetstreamManager(nc)).streams.info(config.stream);
      await nc.close();
      expect(info.config.subjects).toEqual([`${config.subject_prefix}.>`]);
      expect(info.state.messages).toBe(2);
      expect((await bus.consume()).map((m) => [m.id, m.message_id, m.topic])).toEqual([
        [41, '41', bus.topic('changeset.created')],
        [42, '42', bus.topic('changeset.submitted')],
      ]);
    } finally {
      await channel.close?.();
      await bus.tearDown();
    }
  });

  it('with create_stream false, a subject no stream captures is a failed delivery', async () => {
    const bus = natsBus();
    const config = buildNotifications({ channels: { bus: { ...bus.config(), create_stream: false } as never } })
      .channels['bus'] as NatsChannel;
    const channel = natsChannel(config);
    try {
      await expect(
        channel.send(
          {
            delivery_id: 'd',
            envelope: { id: 1, type: 'changeset.created' },
            recipient: null,
            address: null,
            attempt: 1,
          },
          AbortSignal.timeout(8_000),
        ),
      ).rejects.toThrow(/^nats publish to .* failed/);
    } finally {
      await channel.close?.();
    }
  }, 20_000);
});

describeEachBackend('event bus channels, broker unreachable', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    await skipSetUpEvents(f.db);
  });
  afterAll(async () => {
    await f?.db.close();
  });

  for (const [name, at] of [
    ['nats', 'nats://127.0.0.1:9'],
    ['amqp', 'amqp://guest:guest@127.0.0.1:9'],
  ] as const) {
    it(`${name}: a delivery that keeps failing is dead-lettered after max_attempts, and the next event goes next`, async () => {
      const bus = name === 'nats' ? natsBus() : amqpBus();
      const dispatcher = dispatcherFor(f, bus.config(at), 2);
      try {
        const id = await firstHalf(f);
        expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, retried: 1, dead: 0 });
        f.clock.advance(60_000);
        // The first is dead after its second attempt; the second is then attempted, and fails.
        expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, retried: 1, dead: 1 });
        const deliveries = await deliveriesOf(f.db, id);
        expect(deliveries.map((d) => [d.status, d.attempts])).toEqual([
          ['DEAD', 2],
          ['PENDING', 1],
          ...deliveries.slice(2).map(() => ['PENDING', 0]),
        ]);
        expect(deliveries.length).toBeGreaterThan(3);
        expect(deliveries[0]!.last_error).toMatch(new RegExp(`^${name} publish to .* failed \\(.*\\)`));
        expect(deliveries[0]!.last_error).not.toContain('guest:guest');
      } finally {
        await dispatcher.stop();
        await f.db.query("UPDATE deliveries SET status = 'DEAD' WHERE status = 'PENDING'");
      }
    }, 60_000);
  }
});

describe('event bus channel configuration', () => {
  it('gives defaults and refuses what a bus cannot use', async () => {
    const { notificationProblems } = await import('../../src/notify/notify-config.js');
    const built = buildNotifications({
      channels: {
        n: { type: 'nats', servers: ['nats://a:4222'] },
        a: { type: 'amqp', url: 'amqp://b' },
      },
    }).channels;
    expect(built['n']).toEqual({
      type: 'nats',
      servers: ['nats://a:4222'],
      subject_prefix: 'changeledger.events',
      stream: 'CHANGELEDGER',
      create_stream: true,
      user: null,
      password: null,
      token: null,
      events: ['*'],
    } satisfies NatsChannel);
    expect(built['a']).toEqual({
      type: 'amqp',
      url: 'amqp://b',
      exchange: 'changeledger.events',
      events: ['*'],
    } satisfies AmqpChannel);
    expect(
      notificationProblems({
        channels: {
          n: { type: 'nats', servers: ['http://a'], subject_prefix: 'a.*', exchange: 'x' },
          m: { type: 'nats' },
          a: { type: 'amqp', url: 'http://b', events: ['nope'] },
          b: { type: 'amqp' },
        },
      }),
    ).toEqual([
      { path: 'notifications.channels.n.exchange', message: 'is not used by a nats channel' },
      { path: 'notifications.channels.n.servers[0]', message: 'must be a nats:// URL' },
      { path: 'notifications.channels.n.subject_prefix', message: 'must be dot-separated tokens without wildcards' },
      { path: 'notifications.channels.m.servers', message: 'a nats channel needs at least one server' },
      { path: 'notifications.channels.a.events[0]', message: 'unknown event type nope' },
      { path: 'notifications.channels.a.url', message: 'must be an amqp(s):// URL' },
      { path: 'notifications.channels.b.url', message: 'an amqp channel needs url' },
    ]);
  });
});
