// The dashboard's API client against a real local HTTP server (the page's relative /api/ledger URLs
// are sent to it): an answer the server asks to be retried (503 + Retry-After) is sent again, with the
// same Idempotency-Key on a POST, and the page only sees the final answer; within bounds.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, createApi } from '../../src/web/lib/api.js';

interface Seen {
  method: string;
  key: string | undefined;
  authorization: string | undefined;
  at: number;
}

let script: { status: number; code?: string; retryAfter?: string; fix?: string }[] = [];
const seen: Seen[] = [];
const server = createServer((request, response) => {
  request.resume();
  const answer = script[Math.min(seen.length, script.length - 1)]!;
  seen.push({
    method: request.method!,
    key: request.headers['idempotency-key'] as string | undefined,
    authorization: request.headers.authorization,
    at: performance.now(),
  });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (answer.retryAfter !== undefined) headers['retry-after'] = answer.retryAfter;
  const body =
    answer.status < 300
      ? { ok: true, attempt: seen.length }
      : {
          statusCode: answer.status,
          code: answer.code,
          error: 'Service Unavailable',
          message: 'the server is busy',
          ...(answer.fix ? { fix: answer.fix } : {}),
        };
  response.writeHead(answer.status, headers).end(JSON.stringify(body));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  seen.length = 0;
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const realFetch = globalThis.fetch;
  // The page's fetch resolves /api/ledger/… against its own origin: here, the local server.
  vi.stubGlobal('fetch', (url: string, init?: RequestInit) => realFetch(`${base}${url}`, init));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the dashboard API client', () => {
  it('retries a GET answered 503 OVERLOADED after its Retry-After, and returns the answer', async () => {
    script = [{ status: 503, code: 'OVERLOADED', retryAfter: '1' }, { status: 200 }];
    const api = createApi('tok', () => {});
    expect(await api.get('/me')).toEqual({ ok: true, attempt: 2 });
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer tok', 'Bearer tok']);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('sends every POST with an Idempotency-Key and retries 503 UNAVAILABLE and 429 with the same key', async () => {
    script = [
      { status: 503, code: 'UNAVAILABLE', retryAfter: '0' },
      { status: 429, code: 'RATE_LIMITED', retryAfter: '0' },
      { status: 200 },
    ];
    const api = createApi('tok', () => {});
    expect(await api.post('/changesets/x/approve', { decision: 'APPROVED' })).toEqual({ ok: true, attempt: 3 });
    expect(seen).toHaveLength(3);
    expect(seen[0]!.key).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
    // A second action is a new request: a new key.
    script = [{ status: 200 }];
    await api.post('/changesets/x/apply', { mode: 'ATOMIC' });
    expect(seen[3]!.key).not.toBe(seen[0]!.key);
  });

  it('gives up after its attempts and shows the last refusal', async () => {
    script = [{ status: 503, code: 'OVERLOADED', retryAfter: '0' }];
    const api = createApi('tok', () => {});
    const failure = await api.get('/me').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 503, code: 'OVERLOADED', message: 'the server is busy' });
    expect(seen).toHaveLength(5);
  });

  it('does not retry other refusals, and keeps their fix for the error notice', async () => {
    script = [{ status: 409, code: 'INVALID_TRANSITION', fix: 'apply it instead' }, { status: 200 }];
    const api = createApi('tok', () => {});
    await expect(api.post('/changesets/x/submit', {})).rejects.toMatchObject({ status: 409, fix: 'apply it instead' });
    expect(seen).toHaveLength(1);
  });
});
