// NATS JetStream: each event published on `<subject_prefix>.<event type>` with the event id as
// Nats-Msg-Id (the stream drops a re-sent event within its duplicate window), delivered once the
// stream has acknowledged it. One connection, opened at the first send and reused; the client
// reconnects by itself after a server restart, and a publish in the meantime fails and is retried.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { NatsChannel } from '../notify-config.js';
import { busBody, busHeaders, reusedConnection, untilAborted } from './bus.js';
import { type Channel, DeliveryError, type OutgoingMessage } from './channel.js';

/** How long connecting (or a JetStream API call) may take before the send fails and is retried. */
const CONNECT_TIMEOUT_MS = 5_000;

async function ensureStream(nc: NatsConnection, config: NatsChannel): Promise<void> {
  const jsm = await jetstreamManager(nc, { timeout: CONNECT_TIMEOUT_MS });
  try {
    await jsm.streams.info(config.stream);
  } catch {
    // Absent (or not readable): adding it answers an existing one's or the real error.
    await jsm.streams.add({ name: config.stream, subjects: [`${config.subject_prefix}.>`] });
  }
}

export function natsChannel(config: NatsChannel): Channel {
  const session = reusedConnection<NatsConnection>(
    async (forget) => {
      const nc = await connect({
        servers: config.servers,
        name: 'changeledger',
        timeout: CONNECT_TIMEOUT_MS,
        // Once connected, reconnect for as long as it takes; publishes fail (and are retried) meanwhile.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
        ...(config.user !== null ? { user: config.user, pass: config.password ?? '' } : {}),
        ...(config.token !== null ? { token: config.token } : {}),
      });
      nc.closed().then(forget);
      try {
        if (config.create_stream) await ensureStream(nc, config);
      } catch (error) {
        await nc.close();
        throw error;
      }
      return nc;
    },
    (nc) => nc.close(),
  );

  return {
    ordered: true,
    async send(message: OutgoingMessage, signal: AbortSignal): Promise<void> {
      const subject = `${config.subject_prefix}.${message.envelope.type}`;
      try {
        const nc = await untilAborted(session.get(), signal);
        const h = headers();
        for (const [key, value] of Object.entries(busHeaders(message))) h.set(key, value);
        const ack = await untilAborted(
          jetstream(nc).publish(subject, busBody(message), {
            msgID: String(message.envelope.id),
            expect: { streamName: config.stream },
            headers: h,
            timeout: CONNECT_TIMEOUT_MS,
          }),
          signal,
        );
        if (ack.stream !== config.stream) throw new Error(`acknowledged by stream ${ack.stream}`);
      } catch (error) {
        throw new DeliveryError(`nats publish to ${subject} (stream ${config.stream}) failed`, { cause: error });
      }
    },
    close: () => session.close(),
  };
}
