// The fetch under the typed client: one logical call in, one answer out. It adds the bearer token,
// gives every POST, PUT, PATCH and DELETE an Idempotency-Key (a fresh UUID per call, the same on
// each retry of it), sends again what the server asks to be sent again (429, 503 with Retry-After:
// core/retry.ts, the rule the dashboard shares) and a request whose connection dropped, and turns
// a server it cannot reach into one clear error. Never a refusal other than 429 and 503.
import { DEFAULT_RETRY_POLICY, isRetrySafe, type RetryPolicy, retryDelayAfter } from '../core/retry.js';

/** The fetch the client sends through: a WHATWG fetch, or one routing into a server in-process. */
export type FetchLike = (request: Request) => Promise<Response>;

export interface TransportOptions {
  /** The server as the caller named it (what error messages name). */
  server: string;
  token: string | undefined;
  fetch: FetchLike;
  retries: RetryPolicy;
  /** Extra attempts after a connection dropped mid-request (a retry-safe request only). */
  reconnects: number;
  /** Per attempt, until the answer's headers arrive; 0: none. */
  timeoutMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  newKey: () => string;
}

const KEYED_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Failures where the request certainly never reached the server (no point sending it again). */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function causeOf(error: unknown): { code: string | undefined; text: string } {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  const codeText = typeof code === 'string' ? code : undefined;
  return { code: codeText, text: message || codeText || 'connection failed' };
}

/** A fetch that does all of the above for each request it is given. */
export function ledgerTransport(options: TransportOptions): FetchLike {
  return async (request) => {
    const method = request.method.toUpperCase();
    const headers = new Headers(request.headers);
    if (options.token && !headers.has('authorization')) headers.set('authorization', `Bearer ${options.token}`);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    if (KEYED_METHODS.has(method) && !headers.has('idempotency-key')) headers.set('idempotency-key', options.newKey());
    const retrySafe = isRetrySafe(method, headers.has('idempotency-key'));
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const started = Date.now();
    let dropped = 0;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await send(
          options,
          request.url,
          { method, headers, body, redirect: request.redirect },
          request.signal,
        );
      } catch (error) {
        if (request.signal.aborted) throw error;
        if (error instanceof Error && error.name === 'TimeoutError') {
          throw new Error(
            `changeledger at ${options.server} did not answer within ${Math.round(options.timeoutMs / 1000)} s`,
          );
        }
        const { code, text } = causeOf(error);
        // The same Idempotency-Key rides on the retry, so a request that did arrive is replayed, not redone.
        if (retrySafe && dropped < options.reconnects && !(code && NEVER_SENT.has(code))) {
          dropped++;
          await options.sleep(200 * dropped);
          continue;
        }
        throw new Error(`cannot reach changeledger at ${options.server}: ${text}`, { cause: error });
      }
      const wait = retryDelayAfter(
        { method, hasIdempotencyKey: headers.has('idempotency-key'), attempt, startedMs: started },
        response,
        { nowMs: Date.now(), jitter: options.random() },
        options.retries,
      );
      if (wait === null) return response;
      await response.body?.cancel();
      await options.sleep(wait);
    }
  };
}

/** One attempt; the timeout covers the wait for the answer's headers, not a stream read after them. */
async function send(options: TransportOptions, url: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
  if (options.timeoutMs <= 0) return options.fetch(new Request(url, { ...init, signal }));
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new DOMException('the server did not answer in time', 'TimeoutError')),
    options.timeoutMs,
  );
  try {
    return await options.fetch(new Request(url, { ...init, signal: AbortSignal.any([signal, timeout.signal]) }));
  } finally {
    clearTimeout(timer);
  }
}

export const DEFAULT_TRANSPORT = Object.freeze({
  retries: DEFAULT_RETRY_POLICY,
  reconnects: 1,
  timeoutMs: 60_000,
});
