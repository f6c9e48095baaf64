import { describe, expect, it } from 'vitest';
import {
  isRetrySafe,
  parseRetryAfter,
  type RetryQuestion,
  retryDelayAfter,
  retryDelayMs,
} from '../../src/core/retry.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const POLICY = { attempts: 5, totalMs: 30_000, defaultWaitMs: 1_000 };
const ask = (overrides: Partial<RetryQuestion>): RetryQuestion => ({
  method: 'GET',
  hasIdempotencyKey: false,
  status: 503,
  retryAfter: '1',
  attempt: 1,
  elapsedMs: 0,
  nowMs: NOW,
  jitter: 0,
  ...overrides,
});

describe('isRetrySafe', () => {
  it.each([
    ['GET', false, true],
    ['head', false, true],
    ['OPTIONS', false, true],
    ['POST', true, true],
    ['POST', false, false],
    ['PATCH', true, false],
    ['PATCH', false, false],
    ['DELETE', false, false],
  ])('%s with an Idempotency-Key: %s → %s', (method, keyed, safe) => {
    expect(isRetrySafe(method, keyed)).toBe(safe);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['1', 1_000],
    [' 2 ', 2_000],
    ['0', 0],
    ['Wed, 02 Dec 2026 12:00:03 GMT', 3_000],
    ['Wed, 02 Dec 2026 11:59:00 GMT', 0],
    ['soon', null],
    ['-1', null],
    ['', null],
    [null, null],
    [undefined, null],
  ])('%j → %j ms', (header, ms) => {
    expect(parseRetryAfter(header, NOW)).toBe(ms);
  });
});

describe('retryDelayMs', () => {
  it.each([
    ['a GET answered 503 with Retry-After: 1', {}, 1_000],
    ['a keyed POST answered 503', { method: 'POST', hasIdempotencyKey: true }, 1_000],
    ['a 429 with Retry-After: 3', { status: 429, retryAfter: '3' }, 3_000],
    ['a 503 without Retry-After: the default wait', { retryAfter: null }, 1_000],
    ['the largest jitter adds a fifth', { jitter: 0.999 }, 1_200],
    ['a POST without a key', { method: 'POST' }, null],
    ['a PATCH', { method: 'PATCH', hasIdempotencyKey: true }, null],
    ['a 500', { status: 500 }, null],
    ['a 409', { status: 409 }, null],
    ['a 502 from a proxy', { status: 502 }, null],
    ['the fifth attempt (attempts: 5)', { attempt: 5 }, null],
    ['the fourth attempt', { attempt: 4 }, 1_000],
    ['a wait that would end after the total time', { elapsedMs: 29_500 }, null],
    ['a wait that ends just within it', { elapsedMs: 29_000 }, 1_000],
    ['a Retry-After longer than the total time', { retryAfter: '60' }, null],
  ] as const)('%s → %j', (_what, overrides, expected) => {
    expect(retryDelayMs(ask(overrides as Partial<RetryQuestion>), POLICY)).toBe(expected);
  });
});

describe('retryDelayAfter: the question asked of an HTTP answer', () => {
  const answer = (status: number, retryAfter: string | null) =>
    new Response(null, {
      status,
      headers: retryAfter === null ? {} : { 'retry-after': retryAfter },
    });
  const request = { method: 'POST', hasIdempotencyKey: true, attempt: 1, startedMs: NOW - 1_000 };

  it("reads the answer's status and Retry-After and the time since the first attempt", () => {
    expect(retryDelayAfter(request, answer(503, '3'), { nowMs: NOW, jitter: 0 }, POLICY)).toBe(3_000);
    expect(retryDelayAfter(request, answer(429, null), { nowMs: NOW, jitter: 0 }, POLICY)).toBe(1_000);
    expect(retryDelayAfter(request, answer(200, '3'), { nowMs: NOW, jitter: 0 }, POLICY)).toBeNull();
    // 28.5 s already spent: a 3 s wait would end past the 30 s total.
    expect(
      retryDelayAfter({ ...request, startedMs: NOW - 28_500 }, answer(503, '3'), { nowMs: NOW, jitter: 0 }, POLICY),
    ).toBeNull();
    expect(
      retryDelayAfter({ ...request, hasIdempotencyKey: false }, answer(503, '3'), { nowMs: NOW, jitter: 0 }, POLICY),
    ).toBeNull();
  });
});
