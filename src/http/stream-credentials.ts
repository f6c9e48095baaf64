// Open streams end with their credentials. A long-lived response (an event stream, a resource
// watch, a wait, an MCP request or listen stream) was authenticated once, when it began; every
// `periodMs` (auth.token_cache_ms: no longer than a request could go on being served from the
// token cache) the tokens of all of this instance's open ones are checked again in one query,
// and one whose token was revoked, or whose principal was deactivated, is ended.
//
// Polling, not LISTEN/NOTIFY: a revocation made through another instance, by the CLI on the
// database, or straight in SQL sends no notification, and PGlite has no notifications between
// processes; one indexed query per period, only while streams are open, costs next to nothing.
// Changes made through this instance's Engine are heard at once (Engine.onCredentialsChanged).

import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine/index.js';

export interface StreamCredentialOptions {
  /** Of these tokens, those that still authenticate (one query for all). */
  check(tokens: readonly string[]): Promise<Set<string>>;
  periodMs: number;
  onError(error: unknown): void;
}

export class StreamCredentialWatch {
  /** Each open stream's end function and the token it was opened with. */
  private readonly streams = new Map<() => void, string>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private again = false;

  constructor(private readonly options: StreamCredentialOptions) {}

  /** Watches a stream until the returned function is called (when the stream ends for any reason). */
  add(token: string, end: () => void): () => void {
    this.streams.set(end, token);
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), this.options.periodMs);
      this.timer.unref();
    }
    return () => {
      this.streams.delete(end);
      if (this.streams.size === 0) this.stop();
    };
  }

  /** Checks every open stream's token now (coalesced with a check in progress). */
  sweep(): void {
    if (this.sweeping) {
      this.again = true;
      return;
    }
    this.sweeping = this.check().finally(() => {
      this.sweeping = null;
      if (this.again) {
        this.again = false;
        this.sweep();
      }
    });
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async check(): Promise<void> {
    if (this.streams.size === 0) return;
    const open = [...this.streams];
    let valid: Set<string>;
    try {
      valid = await this.options.check([...new Set(open.map(([, token]) => token))]);
    } catch (error) {
      // The database is unreachable: the streams are kept (their feed is stalled too), and the
      // next period checks again.
      this.options.onError(error);
      return;
    }
    for (const [end, token] of open) if (!valid.has(token)) end();
  }
}

/**
 * The one watch of an app: every long-lived response of it registers here. Checks every
 * `periodMs` (default auth.token_cache_ms, or 1 s when the cache is off), at once after this
 * instance's own credential changes, and stops when the app closes.
 */
export function appCredentialWatch(app: FastifyInstance, engine: Engine, periodMs?: number): StreamCredentialWatch {
  const watch = new StreamCredentialWatch({
    check: (tokens) => engine.stillAuthenticating(tokens),
    periodMs: periodMs ?? (engine.config.auth.token_cache_ms || 1_000),
    onError: (error) => app.log.error({ err: error }, 'open stream credential check failed'),
  });
  const stopHearing = engine.onCredentialsChanged(() => watch.sweep());
  app.addHook('preClose', async () => {
    stopHearing();
    watch.stop();
  });
  return watch;
}
