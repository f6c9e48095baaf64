// What the event bus channels (nats, amqp) share: the message body and headers, a wait that gives
// up when the dispatcher's timeout aborts the send, and a connection opened once and reused.
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

/**
 * A connection opened at its first use and reused. One that fails to open, or whose `forget` is
 * called (the broker closed it), is forgotten, so the next use (the dispatcher's retry) opens anew.
 */
export function reusedConnection<T>(
  open: (forget: () => void) => Promise<T>,
  close: (connection: T) => Promise<void>,
): { get(): Promise<T>; close(): Promise<void> } {
  let current: Promise<T> | null = null;
  return {
    get() {
      if (current) return current;
      const opening: Promise<T> = open(() => {
        if (current === opening) current = null;
      });
      current = opening;
      opening.catch(() => {
        if (current === opening) current = null;
      });
      return opening;
    },
    async close() {
      const closing = current;
      current = null;
      const connection = await closing?.catch(() => null);
      if (connection) await close(connection);
    },
  };
}
