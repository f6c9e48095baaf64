// RabbitMQ (AMQP 0-9-1): each event published to a durable topic exchange with the event type as
// routing key, persistent, with the event id as message_id, and delivered once the broker has
// confirmed it (a confirm channel). One connection, opened at the first send and reused; when the
// broker closes it (a restart), the next send opens a new one, and the sends in between fail and
// are retried. A message no queue is bound for is dropped by RabbitMQ: bind a queue first.
import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import type { AmqpChannel } from '../notify-config.js';
import { busBody, busHeaders, reusedConnection, untilAborted } from './bus.js';
import { type Channel, DeliveryError, type OutgoingMessage } from './channel.js';

/** How long connecting may take before the send fails and is retried. */
const CONNECT_TIMEOUT_MS = 5_000;

interface Session {
  connection: ChannelModel;
  channel: ConfirmChannel;
}

/** The URL without its password, for error messages. */
function safeUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export function amqpChannel(config: AmqpChannel): Channel {
  const where = `${safeUrl(config.url)} exchange ${config.exchange}`;
  const session = reusedConnection<Session>(
    async (forget) => {
      const connection = await connect(config.url, { timeout: CONNECT_TIMEOUT_MS });
      // A closed connection (or channel) is forgotten; its errors are the sends' to report.
      connection.on('error', () => {});
      connection.on('close', forget);
      try {
        const channel = await connection.createConfirmChannel();
        channel.on('error', () => {});
        channel.on('close', () => {
          forget();
          connection.close().catch(() => {});
        });
        await channel.assertExchange(config.exchange, 'topic', { durable: true });
        return { connection, channel };
      } catch (error) {
        await connection.close().catch(() => {});
        throw error;
      }
    },
    ({ connection }) => connection.close().catch(() => {}),
  );

  return {
    ordered: true,
    async send(message: OutgoingMessage, signal: AbortSignal): Promise<void> {
      try {
        const { channel } = await untilAborted(session.get(), signal);
        const confirmed = new Promise<void>((resolve, reject) => {
          channel.publish(
            config.exchange,
            message.envelope.type,
            busBody(message),
            {
              persistent: true,
              messageId: String(message.envelope.id),
              type: message.envelope.type,
              contentType: 'application/json',
              appId: 'changeledger',
              timestamp: Math.floor(Date.now() / 1000),
              headers: busHeaders(message),
            },
            (error: unknown) => (error ? reject(error) : resolve()),
          );
        });
        await untilAborted(confirmed, signal);
      } catch (error) {
        throw new DeliveryError(`amqp publish to ${where} failed`, { cause: error });
      }
    },
    close: () => session.close(),
  };
}
