// A real HTTP server in front of a ledger, for the clients' retry tests (typed client, CLI, MCP stdio
// bridge): the first requests get canned answers, the rest are proxied as they are; it records
// every request it saw.
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  url: string;
  key: string | undefined;
  at: number;
}

/** What the proxy answers by itself: a refusal with Retry-After, or any JSON answer. */
export type Canned =
  | { status: number; code: string; retryAfter: string; message?: string }
  | { status: 200; json: unknown };

/** 503 OVERLOADED "the server is busy" with Retry-After: 1, as an overloaded ledger answers. */
export const OVERLOADED: Canned = { status: 503, code: 'OVERLOADED', retryAfter: '1', message: 'the server is busy' };

/**
 * The proxy: request n (from 0) gets `canned[n]` (or `canned(n)`), else goes on to `target`.
 */
export async function flakyProxy(target: string, canned: readonly Canned[] | ((n: number) => Canned | undefined)) {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    seen.push({
      method: request.method ?? '',
      url: request.url ?? '',
      key: request.headers['idempotency-key'] as string | undefined,
      at: performance.now(),
    });
    const n = seen.length - 1;
    const answer = typeof canned === 'function' ? canned(n) : canned[n];
    if (answer) {
      request.resume();
      const headers = {
        'content-type': 'application/json',
        ...('code' in answer ? { 'retry-after': answer.retryAfter } : {}),
      };
      const body =
        'code' in answer
          ? { statusCode: answer.status, code: answer.code, error: 'Busy', message: answer.message ?? 'try later' }
          : answer.json;
      response.writeHead(answer.status, headers).end(JSON.stringify(body));
      return;
    }
    const upstream = httpRequest(
      `${target}${request.url}`,
      { method: request.method, headers: request.headers },
      (upstreamAnswer) => {
        response.writeHead(upstreamAnswer.statusCode ?? 502, upstreamAnswer.headers);
        upstreamAnswer.pipe(response);
      },
    );
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The first `busy` requests answered OVERLOADED, the rest proxied. */
export const busyFirst = (target: string, busy: number) =>
  flakyProxy(target, (n) => (n < busy ? OVERLOADED : undefined));
