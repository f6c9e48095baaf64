// The event feed: one per server instance. It hears of new outbox events (NOTIFY from any
// instance, and a slow safety poll), reads them in id order and fans them out to subscribers.
//
// Ids come from a sequence when a row is inserted, not when it commits, so a transaction holding
// id 6 may commit after one holding id 7. Reading "id > last" past such a gap would skip 6 for
// good; so the feed holds 7 (and everything after it) back until 6 appears, or until 7 has been
// visible for `gapGraceMs`, after which 6 is taken for rolled back (or burnt by the sequence).
import type { Db } from '../store/db.js';
import { type EventQuery, lastEventId, readEvents, type StoredEvent } from '../store/outbox.js';
import { changesOfCommits, type ResourceChange } from '../store/resources.js';

/** The channel the outbox trigger notifies (migration 0004). */
const EVENTS_CHANNEL = 'changeledger_events';

export type FeedEvent = StoredEvent;

export interface EventFilter {
  /** Event types to receive; absent or empty → all. */
  types?: readonly string[] | undefined;
  /** A change-set's uuid: only its events. */
  changeSet?: string | undefined;
}

const matchesFilter = (event: FeedEvent, filter: EventFilter): boolean =>
  (!filter.types || filter.types.length === 0 || filter.types.includes(event.type)) &&
  (!filter.changeSet || event.change_set === filter.changeSet);

export interface FeedSubscriber {
  /** Called in id order with every released event that matches the filter. */
  onEvent(event: FeedEvent): void;
  /** The feed stopped: no more events will come. */
  onClose?(): void;
}

export interface Subscription {
  /** Every event with an id up to this had been released when the subscription began. */
  readonly cursor: number;
  unsubscribe(): void;
}

export interface EventFeedOptions {
  db: Db;
  /** The safety poll, for a NOTIFY that never came (default 2 s). */
  pollIntervalMs?: number;
  /** How long a gap in ids may hold later events back (default 1 s). */
  gapGraceMs?: number;
  /** Rows read per query (default 1000). */
  batchSize?: number;
  /** Milliseconds, monotonic enough for measuring the grace period. */
  now?: () => number;
  /** Called when rows appear that the feed had not seen (the server pokes its dispatcher here). */
  onNewEvents?: () => void;
  onError?: (error: unknown) => void;
}

interface Entry {
  filter: EventFilter;
  subscriber: FeedSubscriber;
}

export class EventFeed {
  private last = 0;
  private highestSeen = 0;
  /** When each held-back row was first read: its grace period runs from there. */
  private readonly seenAt = new Map<number, number>();
  private readonly entries = new Set<Entry>();
  private pollTimer: NodeJS.Timeout | null = null;
  private gapTimer: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  private running = false;

  constructor(private readonly options: EventFeedOptions) {}

  private get grace(): number {
    return this.options.gapGraceMs ?? 1_000;
  }

  private now(): number {
    return (this.options.now ?? performance.now.bind(performance))();
  }

  /** Stored events in id order (a stream's replay after Last-Event-ID), straight from the outbox. */
  readStored(query: EventQuery): Promise<FeedEvent[]> {
    return readEvents(this.options.db, query);
  }

  /** The resource writes of some commits (the resource watch), straight from the resource history. */
  readResourceChanges(
    commits: Parameters<typeof changesOfCommits>[1],
    filter: Parameters<typeof changesOfCommits>[2],
  ): Promise<ResourceChange[]> {
    return changesOfCommits(this.options.db, commits, filter);
  }

  /** The id up to which every event has been released (or given up on). */
  get cursor(): number {
    return this.last;
  }

  /** Listens first, then reads the high-water mark, so nothing committed in between is missed. */
  async start(): Promise<void> {
    if (this.running) return;
    this.unlisten = await this.options.db.listen(EVENTS_CHANNEL, () => this.wake());
    try {
      this.last = await lastEventId(this.options.db);
    } catch (error) {
      await this.unlisten();
      this.unlisten = null;
      throw error;
    }
    this.highestSeen = this.last;
    this.running = true;
    this.pollTimer = setInterval(() => this.wake(), this.options.pollIntervalMs ?? 2_000);
    this.pollTimer.unref();
  }

  subscribe(filter: EventFilter, subscriber: FeedSubscriber): Subscription {
    const entry: Entry = { filter, subscriber };
    this.entries.add(entry);
    return { cursor: this.last, unsubscribe: () => this.entries.delete(entry) };
  }

  /** How many subscribers are attached (tests check that streams clean up after themselves). */
  get subscriberCount(): number {
    return this.entries.size;
  }

  /** Reads now (coalescing with a read in progress: one more read follows it). */
  wake(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => {
        this.pumping = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Resolves when no read is in progress (tests use it to know the feed has caught up). */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private async pump(): Promise<void> {
    const batch = this.options.batchSize ?? 1_000;
    for (;;) {
      const rows = await readEvents(this.options.db, { afterId: this.last, limit: batch });
      const newest = rows.at(-1)?.id ?? 0;
      if (newest > this.highestSeen) {
        this.highestSeen = newest;
        this.options.onNewEvents?.();
      }
      const { released, held } = this.release(rows);
      for (const event of released) this.fanOut(event);
      if (rows.length < batch || held) return;
    }
  }

  /** Takes rows in id order up to the first gap still within its grace period. */
  private release(rows: readonly FeedEvent[]): { released: FeedEvent[]; held: boolean } {
    const now = this.now();
    const released: FeedEvent[] = [];
    for (const [index, row] of rows.entries()) {
      const seen = this.seenAt.get(row.id) ?? now;
      if (row.id === this.last + 1 || now - seen >= this.grace) {
        released.push(row);
        this.last = row.id;
        this.seenAt.delete(row.id);
        continue;
      }
      for (const later of rows.slice(index)) if (!this.seenAt.has(later.id)) this.seenAt.set(later.id, now);
      this.recheckAt(seen + this.grace - now);
      return { released, held: true };
    }
    return { released, held: false };
  }

  private recheckAt(delayMs: number): void {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      this.wake();
    }, Math.max(0, delayMs) + 5);
    this.gapTimer.unref();
  }

  private fanOut(event: FeedEvent): void {
    for (const entry of this.entries) {
      if (!matchesFilter(event, entry.filter)) continue;
      try {
        entry.subscriber.onEvent(event);
      } catch (error) {
        this.entries.delete(entry);
        this.options.onError?.(error);
      }
    }
  }

  /** Stops reading and ends every subscription (event streams close, so a shutdown is not held up). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.pollTimer = null;
    this.gapTimer = null;
    await this.unlisten?.().catch((error: unknown) => this.options.onError?.(error));
    this.unlisten = null;
    await this.idle();
    for (const entry of [...this.entries]) {
      this.entries.delete(entry);
      entry.subscriber.onClose?.();
    }
  }
}
