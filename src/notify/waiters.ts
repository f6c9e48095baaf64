// Waiting for a change-set without polling (GET /changesets/{id}/wait, docs/agents.md): one
// subscription to the instance's event feed fans its events out to the waiters by change-set id,
// and a change-set is read again only when one of its events arrives (one read for all of its
// waiters). A waiter holds no database connection while it waits: only a timer and a Map entry.
import type { ChangeSet, Status } from '../core/types.js';
import type { EventFeed, FeedEvent, Subscription } from './event-feed.js';

export const WAIT_FOR = ['decision', 'apply', 'rollback'] as const;
export type WaitFor = (typeof WAIT_FOR)[number];

/**
 * While the change-set is in one of these statuses the wait goes on; any other status ends it.
 * decision: it leaves PENDING_APPROVAL (approved, rejected or closed, withdrawn to DRAFT; a DRAFT
 * that was never submitted ends it at once). apply: it is applied (APPLIED, PARTIALLY_APPLIED,
 * ROLLED_BACK) or can no longer be without a new round (REJECTED, DRAFT). rollback: it is rolled
 * back, or was never applied and cannot be any more (REJECTED, DRAFT).
 */
export const WAITING: Readonly<Record<WaitFor, readonly Status[]>> = {
  decision: ['PENDING_APPROVAL'],
  apply: ['PENDING_APPROVAL', 'APPROVED'],
  rollback: ['PENDING_APPROVAL', 'APPROVED', 'APPLIED', 'PARTIALLY_APPLIED'],
};

/**
 * Events that end a wait although the status read afterwards is again a waiting one: a withdrawal
 * followed at once by a new submit, and a failed apply (the change-set stays APPROVED).
 */
export const ENDING_EVENTS: Readonly<Record<WaitFor, readonly string[]>> = {
  decision: ['changeset.approved', 'changeset.rejected', 'changeset.withdrawn'],
  apply: ['changeset.applied', 'changeset.apply_failed', 'changeset.rejected', 'changeset.withdrawn'],
  rollback: ['changeset.rolled_back', 'changeset.rejected', 'changeset.withdrawn'],
};

export const WAIT_ENDED_BY = ['outcome', 'timeout', 'shutdown'] as const;
export type WaitEndedBy = (typeof WAIT_ENDED_BY)[number];

export interface WaitEnd {
  endedBy: WaitEndedBy;
  /** The change-set as last read (at the end for an outcome or a timeout). */
  changeSet: ChangeSet;
  /** The event that ended the wait, when one did (null when the status alone tells). */
  event: FeedEvent | null;
}

/** Whether `changeSet` (after `events`) ends a wait for `waitFor`, and by which event if any. */
export function endsWait(
  waitFor: WaitFor,
  changeSet: ChangeSet,
  events: readonly FeedEvent[] = [],
): { event: FeedEvent | null } | null {
  const event = events.findLast((e) => ENDING_EVENTS[waitFor].includes(e.type)) ?? null;
  if (!WAITING[waitFor].includes(changeSet.status)) return { event };
  return event ? { event } : null;
}

interface Waiter {
  waitFor: WaitFor;
  /** The version its own first read saw; null until then (group reads are ignored before it). */
  baseVersion: number | null;
  latest: ChangeSet | null;
  /** A group read that finished before the waiter's own first read did. */
  early: { changeSet: ChangeSet; events: readonly FeedEvent[] } | null;
  timer: NodeJS.Timeout | null;
  finish(end: WaitEnd | null): void;
}

interface Group {
  waiters: Set<Waiter>;
  /** Events since the read in progress started; they are passed to the next read's evaluation. */
  events: FeedEvent[];
  reading: boolean;
  again: boolean;
}

export interface WaiterOptions {
  feed: EventFeed;
  /** Reads a change-set by uuid (the engine's GET). */
  read: (id: string) => Promise<ChangeSet>;
  onError?: (error: unknown) => void;
}

export interface WaitHandle {
  /** Resolves when the wait ends; null when it was cancelled (the client went away). */
  readonly done: Promise<WaitEnd | null>;
  /** Starts the wait from the state read after registering (subscribe first, then read). */
  start(base: ChangeSet, timeoutMs: number): void;
  /** Ends the wait now: with the last known state ('shutdown'), or silently (null: client gone). */
  cancel(endedBy?: 'shutdown'): void;
}

export class ChangeSetWaiters {
  private readonly groups = new Map<string, Group>();
  private subscription: Subscription | null = null;
  private waiters = 0;

  constructor(private readonly options: WaiterOptions) {}

  /** The latest stored event of a change-set among `types` (what an answer names as its cause). */
  async latestEvent(changeSet: string, types: readonly string[]): Promise<FeedEvent | null> {
    const events = await this.options.feed.readStored({ afterId: 0, changeSet, types, limit: 1000 });
    return events.at(-1) ?? null;
  }

  /** Waiters registered and not yet answered (tests check that they are released). */
  get count(): number {
    return this.waiters;
  }

  /** Registers a waiter for change-set `id` (a uuid) before its state is read. */
  add(id: string, waitFor: WaitFor): WaitHandle {
    this.subscription ??= this.options.feed.subscribe(
      {},
      { onEvent: (event) => this.onEvent(event), onClose: () => this.onFeedClosed() },
    );
    let group = this.groups.get(id);
    if (!group) {
      group = { waiters: new Set(), events: [], reading: false, again: false };
      this.groups.set(id, group);
    }
    const members = group;
    let resolve!: (end: WaitEnd | null) => void;
    const done = new Promise<WaitEnd | null>((r) => {
      resolve = r;
    });
    let finished = false;
    const waiter: Waiter = {
      waitFor,
      baseVersion: null,
      latest: null,
      early: null,
      timer: null,
      finish: (end) => {
        if (finished) return;
        finished = true;
        if (waiter.timer) clearTimeout(waiter.timer);
        members.waiters.delete(waiter);
        if (members.waiters.size === 0 && this.groups.get(id) === members) this.groups.delete(id);
        this.waiters--;
        // No waiter left: the feed's fan-out skips this registry until the next one comes.
        if (this.waiters === 0) this.unsubscribe();
        resolve(end);
      },
    };
    members.waiters.add(waiter);
    this.waiters++;
    return {
      done,
      start: (base, timeoutMs) => {
        if (finished) return;
        // A read triggered by an event after registering may have finished first: take the newer.
        const early = waiter.early && waiter.early.changeSet.version > base.version ? waiter.early : null;
        const current = early?.changeSet ?? base;
        waiter.baseVersion = base.version;
        waiter.latest = current;
        waiter.early = null;
        const ends = endsWait(waitFor, current, early?.events);
        if (ends) return waiter.finish({ endedBy: 'outcome', changeSet: current, event: ends.event });
        waiter.timer = setTimeout(
          () => waiter.finish({ endedBy: 'timeout', changeSet: waiter.latest ?? current, event: null }),
          timeoutMs,
        );
      },
      cancel: (endedBy) =>
        waiter.finish(endedBy && waiter.latest ? { endedBy, changeSet: waiter.latest, event: null } : null),
    };
  }

  private onEvent(event: FeedEvent): void {
    const changeSet = event.change_set;
    const group = changeSet ? this.groups.get(changeSet) : undefined;
    if (!changeSet || !group) return;
    group.events.push(event);
    this.reread(changeSet, group);
  }

  /** One read per change-set at a time; events arriving meanwhile trigger one more read after it. */
  private reread(id: string, group: Group): void {
    if (group.reading) {
      group.again = true;
      return;
    }
    group.reading = true;
    const events = group.events.splice(0);
    this.options
      .read(id)
      .then((changeSet) => this.evaluate(group, changeSet, events))
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => {
        group.reading = false;
        if (group.again) {
          group.again = false;
          if (group.waiters.size > 0) this.reread(id, group);
        }
      });
  }

  private evaluate(group: Group, changeSet: ChangeSet, events: readonly FeedEvent[]): void {
    for (const waiter of [...group.waiters]) {
      // Before its own first read a waiter keeps this for then (its own read may be older).
      if (waiter.baseVersion === null) {
        if (!waiter.early || changeSet.version > waiter.early.changeSet.version) waiter.early = { changeSet, events };
        continue;
      }
      if (changeSet.version <= waiter.baseVersion) continue;
      waiter.latest = changeSet;
      const ends = endsWait(waiter.waitFor, changeSet, events);
      if (ends) waiter.finish({ endedBy: 'outcome', changeSet, event: ends.event });
    }
  }

  private onFeedClosed(): void {
    this.subscription = null;
    this.cancelAll();
  }

  /** Answers every wait with its last known state (server shutdown). */
  cancelAll(): void {
    for (const group of [...this.groups.values()])
      for (const waiter of [...group.waiters])
        waiter.finish(waiter.latest ? { endedBy: 'shutdown', changeSet: waiter.latest, event: null } : null);
  }

  private unsubscribe(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
  }
}
