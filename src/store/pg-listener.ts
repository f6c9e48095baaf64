// LISTEN on a connection of its own, never a pooled one: a pooled client would carry its LISTEN
// to whoever borrows it next, and the pool closes idle clients. When the connection drops, it
// reconnects with back-off and then calls onNotify, since notifications sent meanwhile are lost.
import pg from 'pg';

export interface PgListenerOptions {
  newClient: () => pg.Client;
  channel: string;
  onNotify: () => void;
  onError?: (error: unknown) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export class PgListener {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;

  constructor(private readonly options: PgListenerOptions) {}

  /** The first connection fails loudly: a wrong URL should stop the start, not retry for ever. */
  async start(): Promise<void> {
    this.connecting = this.connect();
    try {
      await this.connecting;
    } finally {
      this.connecting = null;
    }
  }

  /** Whether a listening connection is up (tests watch a reconnect through this). */
  get connected(): boolean {
    return this.client !== null;
  }

  private async connect(): Promise<void> {
    const client = this.options.newClient();
    client.on('notification', (message) => {
      if (message.channel === this.options.channel) this.options.onNotify();
    });
    // Both fire when the server or the network drops the connection; only the current client counts.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.options.channel)}`);
    } catch (error) {
      // Not awaited: ending a client whose connect failed may never settle on some failures.
      client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
  }

  private lost(client: pg.Client, error?: unknown): void {
    if (client !== this.client) return;
    this.client = null;
    client.end().catch(() => {});
    if (error !== undefined) this.options.onError?.(error);
    this.reconnectLater();
  }

  private reconnectLater(): void {
    if (this.closed || this.timer) return;
    const min = this.options.minDelayMs ?? 100;
    const max = this.options.maxDelayMs ?? 5_000;
    const delay = Math.min(max, min * 2 ** this.failures) * (0.5 + Math.random() / 2);
    this.failures += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connecting = this.connect()
        .then(() => {
          this.failures = 0;
          if (!this.closed) this.options.onNotify();
        })
        .catch((error: unknown) => {
          this.options.onError?.(error);
          this.reconnectLater();
        })
        .finally(() => {
          this.connecting = null;
        });
    }, delay);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.connecting?.catch(() => {});
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }
}
