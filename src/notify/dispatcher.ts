// The dispatcher: routes new outbox events into deliveries, claims due deliveries, sends them
// outside any transaction, and records each outcome: delivered, retried with exponential back-off
// and jitter, or dead-lettered after max_attempts. Safe with any number of dispatchers.
import { defined } from '../core/defined.js';
import { type CompiledRoute, compileRoutes } from '../core/routing.js';
import type { Db } from '../store/db.js';
import {
  type ClaimedDelivery,
  claimDueDeliveries,
  claimOrderedDeliveries,
  type DeliveryOutcome,
  recordOutcomes,
} from '../store/deliveries.js';
import { type Channel, DeliveryError } from './channels/channel.js';
import type { DispatcherConfig, NotificationsConfig } from './notify-config.js';
import { routeEvents } from './router.js';

export interface DispatcherDeps {
  db: Db;
  notifications: NotificationsConfig;
  /** Channel implementations by channel name (see channels/index.ts). */
  channels: Readonly<Record<string, Channel>>;
  clock?: () => Date;
  random?: () => number;
  onError?: (error: unknown) => void;
  /** Each attempt's outcome, once recorded, and how long its send took (e.g. for metrics). */
  onOutcome?: (channel: string, outcome: DeliveryOutcome['status'], seconds: number) => void;
}

export interface PassResult {
  routed: number;
  delivered: number;
  retried: number;
  dead: number;
}

/** Exponential back-off with "equal jitter": half the delay fixed, half random. */
function backoffMs(
  attempt: number,
  config: Pick<DispatcherConfig, 'backoff_base_ms' | 'backoff_max_ms'>,
  random: () => number,
): number {
  const delay = Math.min(config.backoff_max_ms, config.backoff_base_ms * 2 ** Math.max(0, attempt - 1));
  return Math.round(delay / 2 + (random() * delay) / 2);
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  // One iterator shared by the workers: each takes the next item when it is free.
  const pending = items.entries();
  const worker = async () => {
    for (const [index, item] of pending) results[index] = await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class Dispatcher {
  private readonly routes: CompiledRoute[];
  private readonly clock: () => Date;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(private readonly deps: DispatcherDeps) {
    this.routes = compileRoutes(deps.notifications.routes);
    this.clock = deps.clock ?? (() => new Date());
    this.random = deps.random ?? Math.random;
  }

  private get config(): DispatcherConfig {
    return this.deps.notifications.dispatcher;
  }

  /** Sends one delivery; its outcome and how long the send took. */
  /** Sends one delivery and reports its outcome and how long the send took (the delivery metrics). */
  private async sendObserved(delivery: ClaimedDelivery): Promise<DeliveryOutcome> {
    const started = performance.now();
    const outcome = await this.send(delivery);
    this.deps.onOutcome?.(delivery.channel, outcome.status, (performance.now() - started) / 1000);
    return outcome;
  }

  private async send(delivery: ClaimedDelivery): Promise<DeliveryOutcome> {
    const channel = this.deps.channels[delivery.channel];
    // A timer cleared as soon as the send settles: AbortSignal.timeout leaves one pending per send
    // until it fires, which cost a good part of the throughput on the delivery benchmark.
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new Error(`no answer within ${this.config.timeout_ms} ms`)),
      this.config.timeout_ms,
    );
    try {
      if (!channel) throw new Error(`no channel named ${delivery.channel} is configured`);
      const message = {
        delivery_id: delivery.id,
        envelope: delivery.envelope as never,
        recipient: delivery.recipient || null,
        address: delivery.address,
        attempt: delivery.attempts,
      };
      await channel.send(message, abort.signal);
      return {
        id: delivery.id,
        status: 'DELIVERED',
        next_attempt_at: null,
        last_error: null,
        delivered_at: this.clock().toISOString(),
      };
    } catch (error) {
      const reason = (
        error instanceof Error
          ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}`
          : String(error)
      ).slice(0, 1000);
      if (delivery.attempts >= this.config.max_attempts) {
        return { id: delivery.id, status: 'DEAD', next_attempt_at: null, last_error: reason, delivered_at: null };
      }
      // The receiver's Retry-After (a Slack 429) is a floor under the back-off, never shortened.
      const asked = error instanceof DeliveryError ? (error.retryAfterMs ?? 0) : 0;
      const wait = Math.max(asked, backoffMs(delivery.attempts, this.config, this.random));
      const next = new Date(this.clock().getTime() + wait).toISOString();
      return { id: delivery.id, status: 'PENDING', next_attempt_at: next, last_error: reason, delivered_at: null };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * An ordered channel's head of queue, sent one at a time in event order. A delivery that fails
   * (and will be retried) holds back the ones after it, uncounted, until its own retry; one that
   * is dead-lettered does not. Sending stops while the claim still has a send's time left.
   */
  private async sendInOrder(channel: string, now: Date, lockedUntil: string): Promise<DeliveryOutcome[]> {
    const claimed = await claimOrderedDeliveries(
      this.deps.db,
      channel,
      now.toISOString(),
      lockedUntil,
      this.config.batch_size,
    );
    const outcomes: DeliveryOutcome[] = [];
    let blocker: { next_attempt_at: string; reason: string } | null = null;
    for (const delivery of claimed) {
      if (!blocker && this.clock().getTime() + this.config.timeout_ms >= Date.parse(lockedUntil)) {
        blocker = { next_attempt_at: this.clock().toISOString(), reason: 'the claim ran out of time' };
      }
      if (blocker) {
        outcomes.push({
          id: delivery.id,
          status: 'PENDING',
          next_attempt_at: blocker.next_attempt_at,
          last_error: `held back in event order: ${blocker.reason}`,
          delivered_at: null,
          held: true,
        });
        continue;
      }
      const outcome = await this.sendObserved(delivery);
      outcomes.push(outcome);
      if (outcome.status === 'PENDING')
        blocker = {
          next_attempt_at: defined(outcome.next_attempt_at, 'retry time of a PENDING delivery'),
          reason: `event ${delivery.event_id} is not delivered yet`,
        };
    }
    return outcomes;
  }

  /** Claims one batch of due deliveries, sends them, records the outcomes. */
  async deliverBatch(): Promise<Omit<PassResult, 'routed'>> {
    const now = this.clock();
    // A claim outlives the slowest send; a dispatcher that died mid-send is retried after it.
    const lockedUntil = new Date(now.getTime() + this.config.timeout_ms * 2 + 1_000).toISOString();
    // Channels that keep event order (event buses) are claimed and sent apart, one queue each.
    const ordered = Object.entries(this.deps.channels)
      .filter(([, channel]) => channel.ordered)
      .map(([name]) => name);
    const claimed = await claimDueDeliveries(
      this.deps.db,
      now.toISOString(),
      lockedUntil,
      this.config.batch_size,
      ordered,
    );
    const outcomes = (
      await Promise.all([
        mapLimit(claimed, this.config.concurrency, (delivery) => this.sendObserved(delivery)),
        ...ordered.map((name) => this.sendInOrder(name, now, lockedUntil)),
      ])
    ).flat();
    await recordOutcomes(this.deps.db, outcomes);
    const sent = outcomes.filter((o) => !o.held);
    return {
      delivered: sent.filter((o) => o.status === 'DELIVERED').length,
      retried: sent.filter((o) => o.status === 'PENDING').length,
      dead: sent.filter((o) => o.status === 'DEAD').length,
    };
  }

  /** One pass: route what is new, deliver what is due (until a batch comes back short). */
  async runOnce(): Promise<PassResult> {
    const total: PassResult = { routed: 0, delivered: 0, retried: 0, dead: 0 };
    for (;;) {
      const routed = await routeEvents(
        this.deps.db,
        { routes: this.routes, channels: this.deps.notifications.channels },
        this.clock,
      );
      total.routed += routed;
      if (routed === 0) break;
    }
    for (;;) {
      const batch = await this.deliverBatch();
      total.delivered += batch.delivered;
      total.retried += batch.retried;
      total.dead += batch.dead;
      if (batch.delivered + batch.retried + batch.dead < this.config.batch_size) break;
    }
    return total;
  }

  /** Runs a pass now (coalescing with one in progress), e.g. when an event was just written. */
  poke(): void {
    if (this.stopped || this.running) return;
    this.running = this.runOnce()
      .catch((error: unknown) => this.deps.onError?.(error))
      .finally(() => {
        this.running = null;
      });
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.poke(), this.config.poll_interval_ms);
    this.timer.unref();
    this.poke();
  }

  /** Stops polling and lets a pass in progress (and its sends) finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await Promise.all(Object.values(this.deps.channels).map((channel) => channel.close?.()));
  }
}
