// What a channel is given to send, and what it must do: resolve, or throw to be retried.
import type { Json } from '../../core/types.js';

export interface OutgoingMessage {
  delivery_id: string;
  /** The event envelope, with its id. */
  envelope: { id: number; type: string; [key: string]: Json };
  recipient: string | null;
  address: string | null;
  attempt: number;
}

export interface Channel {
  send(message: OutgoingMessage, signal: AbortSignal): Promise<void>;
  /**
   * Deliveries are sent one at a time in event order, a failed one holding back the later ones
   * until it is delivered or dead-lettered (event buses: consumers see a lifecycle in order).
   */
  ordered?: boolean;
  close?(): Promise<void>;
}

/** A failure worth retrying, with the receiver's answer when there was one. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  /** The receiver's Retry-After, in ms from now: the next attempt comes no sooner. */
  retryAfterMs: number | null = null;
}

/**
 * An HTTP `Retry-After` (delay-seconds, or an HTTP date) in ms from `now`; null when absent or
 * unreadable. A date in the past is 0.
 */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
