// Email over SMTP: one pooled nodemailer transport per channel, one message per recipient address.
import { createTransport } from 'nodemailer';
import { renderMessage } from '../messages.js';
import type { EmailChannel } from '../notify-config.js';
import { type Channel, DeliveryError, type OutgoingMessage } from './channel.js';

export function emailChannel(config: EmailChannel, options: { dashboardUrl: string }): Channel {
  const transport = createTransport({
    pool: true,
    host: config.host,
    port: config.port,
    secure: config.secure,
    ...(config.user !== null ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
    // Fail a dead server within the dispatcher's timeout rather than nodemailer's minutes.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(message: OutgoingMessage, signal: AbortSignal): Promise<void> {
      if (!message.address) throw new DeliveryError(`delivery ${message.delivery_id} has no email address`);
      const human = renderMessage(message.envelope, options);
      try {
        await transport.sendMail({
          from: config.from,
          to: message.address,
          subject: human.subject,
          text: human.text,
          html: human.html,
          // A retried delivery keeps its Message-ID, so a mailbox can drop the duplicate.
          messageId: `<${message.delivery_id}@changeledger>`,
          headers: { 'X-Changeledger-Event': message.envelope.type, 'X-Changeledger-Delivery': message.delivery_id },
          signal,
        });
      } catch (error) {
        // The dispatcher records the message with its cause: "email via …: <SMTP error>".
        throw new DeliveryError(`email via ${config.host}:${config.port} failed`, { cause: error });
      }
    },
    async close(): Promise<void> {
      transport.close();
    },
  };
}
