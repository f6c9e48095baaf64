// One client's event stream, whatever carries it (SSE today): the filter it asked for, the stored
// events after its Last-Event-ID replayed first, then live events from the feed — in id order,
// none twice, none missed between the replay and the live part.
import { LedgerError } from '../core/errors.js';
import { EVENT_TYPES } from '../core/events.js';
import type { EventFeed, EventFilter, FeedEvent } from './event-feed.js';

const REPLAY_PAGE = 500;

/**
 * `type` (comma-separated) and `change_set` (uuid or human id, turned into a uuid by `changeSetId`,
 * which refuses an unknown one) → a feed filter.
 */
export async function resolveEventFilter(
  query: { type?: string | undefined; change_set?: string | undefined },
  changeSetId: (reference: string) => Promise<string>,
): Promise<EventFilter> {
  const types = (query.type ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) {
    throw new LedgerError(
      'VALIDATION_FAILED',
      `unknown event type ${unknown.join(', ')}: use ${EVENT_TYPES.join(', ')}`,
      [{ path: 'type', message: `unknown event type ${unknown.join(', ')}` }],
    );
  }
  const changeSet = query.change_set === undefined ? undefined : await changeSetId(query.change_set);
  return { ...(types.length > 0 ? { types } : {}), ...(changeSet ? { changeSet } : {}) };
}

/** The `Last-Event-ID` header, else the `last_event_id` query parameter: an event id, or null. */
export function parseLastEventId(
  header: string | string[] | undefined,
  query: string | undefined,
  queryName = 'last_event_id',
): number | null {
  const raw = (Array.isArray(header) ? header[0] : header) ?? query;
  if (raw === undefined || raw.trim() === '') return null;
  const value = raw.trim();
  if (!/^\d{1,15}$/.test(value)) {
    throw new LedgerError(
      'VALIDATION_FAILED',
      `Last-Event-ID ${JSON.stringify(raw)} is not an event id this API sent`,
      [{ path: queryName, message: 'must be a non-negative integer event id' }],
    );
  }
  return Number(value);
}

export interface EventStreamOptions {
  feed: EventFeed;
  filter: EventFilter;
  /** Resume after this event id (stored events after it come first); null → live events only. */
  after: number | null;
  /** Takes one event; a returned promise (back-pressure) is awaited during the replay. */
  send(event: FeedEvent): undefined | Promise<void>;
  /** The feed stopped (server shutdown): the transport should end. */
  onEnd(): void;
}

export interface EventStream {
  close(): void;
}

/**
 * Subscribes before replaying, so live events that arrive during the replay are buffered and then
 * sent after it, skipping any id the replay already sent.
 */
export async function openEventStream(options: EventStreamOptions): Promise<EventStream> {
  let closed = false;
  let buffer: FeedEvent[] | null = [];
  const deliver = (event: FeedEvent) => {
    if (closed || event.id <= sent) return;
    sent = event.id;
    void options.send(event);
  };
  const subscription = options.feed.subscribe(options.filter, {
    onEvent: (event) => (buffer ? buffer.push(event) : deliver(event)),
    onClose: () => {
      if (closed) return;
      closed = true;
      options.onEnd();
    },
  });
  let sent = options.after ?? subscription.cursor;
  const stream = {
    close() {
      closed = true;
      subscription.unsubscribe();
    },
  };
  try {
    while (options.after !== null && !closed) {
      const page = await options.feed.readStored({
        afterId: sent,
        upToId: subscription.cursor,
        ...(options.filter.types ? { types: options.filter.types } : {}),
        ...(options.filter.changeSet ? { changeSet: options.filter.changeSet } : {}),
        limit: REPLAY_PAGE,
      });
      for (const event of page) {
        if (closed) break;
        sent = event.id;
        await options.send(event);
      }
      if (page.length < REPLAY_PAGE) break;
    }
  } catch (error) {
    stream.close();
    throw error;
  }
  const pending = buffer;
  buffer = null;
  for (const event of pending) deliver(event);
  return stream;
}
