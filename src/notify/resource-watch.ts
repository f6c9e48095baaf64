// One client's watch of the resource store: every committed resource write under a prefix (or of
// one target type), in ledger order, resumable. It rides on the event stream: each apply or
// rollback event marks a commit, whose writes are read from the resource history, so replay,
// live delivery, gaps and other instances are handled exactly as for events (event-stream.ts).
import type { ResourceChange } from '../store/resources.js';
import type { EventFeed, FeedEvent } from './event-feed.js';
import { openEventStream } from './event-stream.js';

/** The events whose transactions write resources. */
export const RESOURCE_WRITE_EVENTS = ['changeset.applied', 'changeset.rolled_back'] as const;

export interface ResourceFilter {
  target_type?: string | undefined;
  /** Target ids starting with this. */
  prefix?: string | undefined;
}

export interface ResourceWatchOptions {
  feed: EventFeed;
  filter: ResourceFilter;
  /** Resume after this ledger version (the writes of later commits come first); null → live only. */
  after: number | null;
  /** Takes the matching writes of one commit (never empty), in order; a promise is awaited. */
  send(changes: readonly ResourceChange[], ledgerVersion: number): undefined | Promise<void>;
  /** The replay is done: every commit up to `ledgerVersion` has been sent. */
  onCaughtUp(ledgerVersion: number): undefined | Promise<void>;
  /** The feed stopped, or reading a commit failed: the transport should end (the client resumes). */
  onEnd(): void;
}

export async function openResourceWatch(options: ResourceWatchOptions): Promise<{ close(): void }> {
  // Live only: from the feed's cursor, so the commit that is the client's position is well defined.
  const after = options.after ?? options.feed.cursor;
  let position = after;
  let queue: Promise<void> = Promise.resolve();
  let failed = false;
  const commit = async (event: FeedEvent) => {
    if (failed) return;
    const occurred = event.envelope['occurred_at'];
    try {
      const changes =
        event.change_set === null || typeof occurred !== 'string'
          ? []
          : await options.feed.readResourceChanges(
              [
                {
                  ledger_version: event.id,
                  change_set: event.change_set,
                  at: occurred,
                  rollback: event.type === 'changeset.rolled_back',
                },
              ],
              options.filter,
            );
      position = event.id;
      if (changes.length > 0) await options.send(changes, event.id);
    } catch {
      // The client holds the last ledger version it saw and resumes from there.
      failed = true;
      options.onEnd();
    }
  };
  // Live events arrive without waiting for the previous one: a queue keeps them in ledger order.
  const enqueue = (event: FeedEvent) => {
    queue = queue.then(() => commit(event));
    return queue;
  };
  const stream = await openEventStream({
    feed: options.feed,
    filter: { types: RESOURCE_WRITE_EVENTS },
    after,
    send: enqueue,
    onEnd: options.onEnd,
  });
  await queue;
  if (!failed) await options.onCaughtUp(position);
  return stream;
}
