// What the event bus channels (nats, amqp) share: the message body and headers, and a wait that
// gives up when the dispatcher's timeout aborts the send.
import type { OutgoingMessage } from './channel.js';

/** The event envelope as JSON, exactly as a webhook receives it. */
export const busBody = (message: OutgoingMessage): Buffer => Buffer.from(JSON.stringify(message.envelope));

export const busHeaders = (message: OutgoingMessage): Record<string, string> => ({
  'Changeledger-Event': message.envelope.type,
  'Changeledger-Delivery': message.delivery_id,
});

/** `promise`, or the abort's reason as soon as `signal` aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}
