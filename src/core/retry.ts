// When a client of the API may send a request again, and after how long: the one rule the CLI,
// the dashboard and the test clients share. The server asks for a retry with 503 (OVERLOADED: busy;
// UNAVAILABLE: the database is unreachable) or 429 (RATE_LIMITED) and a Retry-After header. Only a
// request that cannot act twice is sent again: a read, or a POST carrying an Idempotency-Key (a
// repeat replays the first answer). The retries are bounded in number and in total time.

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** From the first attempt: no retry would start later than this. */
  totalMs: number;
  /** The wait when the answer carries no usable Retry-After. */
  defaultWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ attempts: 5, totalMs: 30_000, defaultWaitMs: 1_000 });

const RETRY_STATUSES = new Set([429, 503]);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Sending the request again cannot act twice. */
export function isRetrySafe(method: string, hasIdempotencyKey: boolean): boolean {
  const upper = method.toUpperCase();
  return SAFE_METHODS.has(upper) || (upper === 'POST' && hasIdempotencyKey);
}

/** Retry-After as seconds or an HTTP date → milliseconds from `nowMs` (null when absent or unreadable). */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | null {
  if (header === null || header === undefined || header.trim() === '') return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its month; anything else (a negative number, say) is not one.
  const date = /[a-z]{3}/i.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

export interface RetryQuestion {
  method: string;
  hasIdempotencyKey: boolean;
  status: number;
  retryAfter: string | null | undefined;
  /** Attempts made so far (1 after the first answer). */
  attempt: number;
  /** Time since the first attempt started. */
  elapsedMs: number;
  nowMs: number;
  /** 0 ≤ jitter < 1: up to 20 % is added to the wait, so that shed clients do not return in one wave. */
  jitter: number;
}

/** How long to wait before the next attempt, or null: do not retry (answer the caller with this one). */
export function retryDelayMs(question: RetryQuestion, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number | null {
  if (!RETRY_STATUSES.has(question.status)) return null;
  if (!isRetrySafe(question.method, question.hasIdempotencyKey)) return null;
  if (question.attempt >= policy.attempts) return null;
  const base = parseRetryAfter(question.retryAfter, question.nowMs) ?? policy.defaultWaitMs;
  const wait = Math.round(base * (1 + 0.2 * question.jitter));
  return question.elapsedMs + wait > policy.totalMs ? null : wait;
}

/** An HTTP answer as far as retrying looks at it (a fetch `Response` is one). */
export interface RetryAnswer {
  status: number;
  headers: { get(name: string): string | null };
}

/**
 * The wait before the next attempt of a request after `answer`, or null: what every client of the
 * API (the CLI, the dashboard) asks after each attempt. The caller gives the clock and the jitter.
 */
export function retryDelayAfter(
  request: { method: string; hasIdempotencyKey: boolean; attempt: number; startedMs: number },
  answer: RetryAnswer,
  now: { nowMs: number; jitter: number },
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): number | null {
  return retryDelayMs(
    {
      method: request.method,
      hasIdempotencyKey: request.hasIdempotencyKey,
      status: answer.status,
      retryAfter: answer.headers.get('retry-after'),
      attempt: request.attempt,
      elapsedMs: now.nowMs - request.startedMs,
      nowMs: now.nowMs,
      jitter: now.jitter,
    },
    policy,
  );
}
