// The typed client of the changeledger API (`changeledger/client`, docs/agents.md "Typed client"):
// an openapi-fetch client typed from the API's own OpenAPI document (src/client/schema.ts, generated
// by scripts/generate-client.ts), over a transport that authenticates, keys and retries
// (./transport.ts), plus the calls an agent or the CLI makes, each returning the answer's body or
// throwing LedgerApiError. Nothing here imports the server: a custom `fetch` (such as the one
// http/inject-fetch.ts makes from an app) can route the calls anywhere.
import { randomUUID } from 'node:crypto';
import createClient, { type Client } from 'openapi-fetch';
import type { RetryPolicy } from '../core/retry.js';
import { type SseMessage, SseParser } from '../core/sse-parser.js';
import { LedgerApiError, refusalOf } from './errors.js';
import type { paths } from './schema.js';
import { DEFAULT_TRANSPORT, type FetchLike, ledgerTransport, type TransportOptions } from './transport.js';

export type { RetryPolicy } from '../core/retry.js';
export type { SseMessage } from '../core/sse-parser.js';
export { type ApiErrorBody, type ApiErrorDetail, LedgerApiError } from './errors.js';
export type { paths } from './schema.js';
export type { FetchLike } from './transport.js';

export const API_PREFIX = '/api/ledger';

export interface LedgerClientOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (a trailing `/api/ledger` is accepted too). */
  baseUrl: string;
  /** The bearer token; none: only what needs no token answers. */
  token?: string | undefined;
  /** Where requests go (default the global fetch); `injectFetch(app)` routes them into an app in-process. */
  fetch?: FetchLike | undefined;
  /** Retries of 429 and 503 answers (default 5 attempts within 30 s; 1 second without Retry-After). */
  retries?: Partial<RetryPolicy> | undefined;
  /** Extra attempts after a connection dropped mid-request, for a request safe to send again (default 1). */
  reconnects?: number | undefined;
  /** Per attempt, until the answer arrives (default 60 000 ms; 0: none). */
  timeoutMs?: number | undefined;
  /** How the client waits between attempts (default setTimeout). */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** The jitter source, 0 ≤ x < 1 (default Math.random). */
  random?: (() => number) | undefined;
}

/** Options of one call that changes something. */
export interface WriteOptions {
  /** Reuse the key of an earlier attempt so a repeated call acts once (default: a fresh UUID). */
  idempotencyKey?: string | undefined;
  signal?: AbortSignal | undefined;
}

type Api = paths;
type JsonBody<Op> = Op extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type Query<Op> = Op extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type Json200<Op> = Op extends { responses: { 200: { content: { 'application/json': infer R } } } } ? R : never;

/** A change-set as the API answers it: its fields, items and approvals. */
export type ChangeSetView = Json200<Api['/api/ledger/changesets/{id}']['get']>;
/** One page of GET /changesets: summaries and `next_cursor`. */
export type ChangeSetPage = Json200<Api['/api/ledger/changesets']['get']>;

export type ChangeSetBody = JsonBody<Api['/api/ledger/changesets']['post']>;
export type ChangeSetPatch = JsonBody<Api['/api/ledger/changesets/{id}']['patch']>;
export type ListQuery = Query<Api['/api/ledger/changesets']['get']>;
export type WaitQuery = Query<Api['/api/ledger/changesets/{id}/wait']['get']>;
export type WatchQuery = Query<Api['/api/ledger/resources/watch']['get']>;
export type ApplyBody = JsonBody<Api['/api/ledger/changesets/{id}/apply']['post']>;
export type RollbackBody = JsonBody<Api['/api/ledger/changesets/{id}/rollback']['post']>;
export type PrincipalBody = JsonBody<Api['/api/ledger/principals']['post']>;
export type TokenBody = JsonBody<Api['/api/ledger/principals/{id}/tokens']['post']>;
/** A decision is bound to what the decider reviewed: `content_hash` is required here. */
export type DecisionBody = JsonBody<Api['/api/ledger/changesets/{id}/approve']['post']> & { content_hash: string };
/** What a wait waits for: a decision, an apply or a rollback. */
export type WaitFor = 'decision' | 'apply' | 'rollback';
type Transition = 'withdraw' | 'reopen' | 'close';

/** The longest single wait the server holds (GET …/wait `timeout_s`). */
const WAIT_MAX_S = 300;

type Answer<T> = { data?: T; error?: unknown; response: Response };

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `http://host:port` from what the caller named (a trailing slash or `/api/ledger` is dropped). */
export function serverOf(baseUrl: string): string {
  const url = baseUrl.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/i.test(url))
    throw new Error(`the server must be an http:// or https:// address, got "${baseUrl}"`);
  return url.endsWith(API_PREFIX) ? url.slice(0, -API_PREFIX.length) : url;
}

export function createLedgerClient(options: LedgerClientOptions) {
  const server = serverOf(options.baseUrl);
  const token = options.token || undefined;
  const transportOptions: TransportOptions = {
    server,
    token,
    fetch: options.fetch ?? ((request) => fetch(request)),
    retries: { ...DEFAULT_TRANSPORT.retries, ...options.retries },
    reconnects: options.reconnects ?? DEFAULT_TRANSPORT.reconnects,
    timeoutMs: options.timeoutMs ?? DEFAULT_TRANSPORT.timeoutMs,
    sleep: options.sleep ?? defaultSleep,
    random: options.random ?? Math.random,
    newKey: randomUUID,
  };
  /** The typed client: `api.GET('/api/ledger/changesets/{id}', { params: { path: { id } } })`. */
  const api: Client<paths> = createClient<paths>({ baseUrl: server, fetch: ledgerTransport(transportOptions) });
  /** The same transport with another per-attempt timeout (a wait, a stream). */
  const withTimeout = (timeoutMs: number) => ledgerTransport({ ...transportOptions, timeoutMs });

  /** The body of a 2xx answer, or the refusal thrown. */
  async function body<T>(call: Promise<Answer<T>>): Promise<T> {
    let answer: Answer<T>;
    try {
      answer = await call;
    } catch (error) {
      if (error instanceof SyntaxError)
        throw new Error(`changeledger at ${server} answered with something that is not JSON`, { cause: error });
      throw error;
    }
    if (!answer.response.ok) throw refusalOf(answer.response, answer.error, server, token !== undefined);
    return answer.data as T;
  }

  const write = (options: WriteOptions = {}) => ({
    ...(options.idempotencyKey ? { headers: { 'idempotency-key': options.idempotencyKey } } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const id = (value: string) => ({ params: { path: { id: value } } });

  const client = {
    /** The typed openapi-fetch client, for any route; answers are `{ data, error, response }`. */
    api,
    /** The server this client speaks to, as `http://host:port`. */
    server,

    /** Proposes a change-set (201): DRAFT, or further when the risk model approves it at once. */
    create: (changeSet: ChangeSetBody, options?: WriteOptions) =>
      body(api.POST('/api/ledger/changesets', { body: changeSet, ...write(options) })),
    /** Creates and, when it stays a DRAFT, submits it for approval: the change-set as it then is. */
    async propose(changeSet: ChangeSetBody, options: WriteOptions = {}) {
      const created = await client.create(changeSet, options);
      if (created.status !== 'DRAFT') return created;
      const key = options.idempotencyKey && `${options.idempotencyKey}.submit`;
      return client.submit(created.change_set_id, { ...options, idempotencyKey: key });
    },
    get: (changeSet: string, signal?: AbortSignal) =>
      body(api.GET('/api/ledger/changesets/{id}', { ...id(changeSet), ...(signal ? { signal } : {}) })),
    /** Newest first; `approver: 'me'` keeps what the caller may decide now; `next_cursor` pages on. */
    list: (query: ListQuery = {}) => body(api.GET('/api/ledger/changesets', { params: { query } })),
    edit: (changeSet: string, patch: ChangeSetPatch, options?: WriteOptions) =>
      body(api.PATCH('/api/ledger/changesets/{id}', { ...id(changeSet), body: patch, ...write(options) })),
    submit: (changeSet: string, options?: WriteOptions) =>
      body(api.POST('/api/ledger/changesets/{id}/submit', { ...id(changeSet), ...write(options) })),
    /** withdraw, reopen or close, with the reason kept in the audit trail. */
    transition: (changeSet: string, action: Transition, reason: string | null = null, options?: WriteOptions) =>
      body(
        api.POST(`/api/ledger/changesets/{id}/${action}`, { ...id(changeSet), body: { reason }, ...write(options) }),
      ),
    /** Approves or rejects what the decider reviewed: refused with STALE_CONTENT when the content changed since. */
    decide: (changeSet: string, decision: DecisionBody, options?: WriteOptions) =>
      body(api.POST('/api/ledger/changesets/{id}/approve', { ...id(changeSet), body: decision, ...write(options) })),
    /** What applying would do now, writing nothing. */
    plan: (changeSet: string) => body(api.GET('/api/ledger/changesets/{id}/plan', id(changeSet))),
    /** Applies (AUTO, ATOMIC, BEST_EFFORT), or plans with DRY_RUN. */
    apply: (changeSet: string, apply: ApplyBody = {}, options?: WriteOptions) =>
      body(api.POST('/api/ledger/changesets/{id}/apply', { ...id(changeSet), body: apply, ...write(options) })),
    rollback: (changeSet: string, rollback: RollbackBody, options?: WriteOptions) =>
      body(api.POST('/api/ledger/changesets/{id}/rollback', { ...id(changeSet), body: rollback, ...write(options) })),
    audit: (changeSet: string) => body(api.GET('/api/ledger/changesets/{id}/audit', id(changeSet))),

    /** One wait on the server (at most 300 s): ends with the outcome, a timeout or the server's shutdown. */
    wait: (changeSet: string, query: WaitQuery = {}, signal?: AbortSignal) => {
      const seconds = Number(query.timeout_s ?? 30);
      const timeoutMs = transportOptions.timeoutMs > 0 ? transportOptions.timeoutMs + seconds * 1000 : 0;
      return body(
        api.GET('/api/ledger/changesets/{id}/wait', {
          params: { path: { id: changeSet }, query },
          fetch: withTimeout(timeoutMs),
          ...(signal ? { signal } : {}),
        }),
      );
    },
    /**
     * Waits until the change-set's decision (apply, rollback) or until `totalTimeoutMs` has passed,
     * waiting again after a server's `timeout` or `shutdown`: the last answer (`ended_by` says which).
     */
    async waitFor(changeSet: string, waitFor: WaitFor = 'decision', totalTimeoutMs = 300_000, signal?: AbortSignal) {
      const deadline = Date.now() + totalTimeoutMs;
      for (;;) {
        const seconds = Math.min(WAIT_MAX_S, Math.max(0, Math.ceil((deadline - Date.now()) / 1000)));
        const answer = await client.wait(changeSet, { for: waitFor, timeout_s: seconds }, signal);
        const left = deadline - Date.now();
        if (answer.ended_by === 'outcome' || left <= 0 || signal?.aborted) return answer;
        // A server going away ended it early: another instance answers the next wait.
        if (answer.ended_by === 'shutdown') await transportOptions.sleep(Math.min(1000, left));
      }
    },

    getResource: (targetType: string, targetId: string) =>
      body(
        api.GET('/api/ledger/resources/{target_type}/{target_id}', {
          params: { path: { target_type: targetType, target_id: targetId } },
        }),
      ),
    /** An agent's track record and earned trust (admins, people and the agent itself). */
    trackRecord: (agentId: string) =>
      body(api.GET('/api/ledger/agents/{id}/track-record', { params: { path: { id: agentId } } })),
    resourceHistory: (targetType: string, targetId: string) =>
      body(
        api.GET('/api/ledger/resources/{target_type}/{target_id}/history', {
          params: { path: { target_type: targetType, target_id: targetId } },
        }),
      ),
    /**
     * Follows GET /resources/watch: yields its messages until the server ends the stream or
     * `signal` aborts (then it returns quietly); a refusal before the stream starts throws.
     */
    async *watchResources(query: WatchQuery, signal: AbortSignal): AsyncGenerator<SseMessage> {
      let stream: ReadableStream<Uint8Array> | null;
      try {
        stream = await body(
          api.GET('/api/ledger/resources/watch', {
            params: { query },
            parseAs: 'stream',
            headers: { accept: 'text/event-stream' },
            fetch: withTimeout(0),
            signal,
          }),
        );
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      }
      if (!stream) return;
      const parser = new SseParser();
      const decoder = new TextDecoder();
      try {
        for await (const chunk of stream) yield* parser.push(decoder.decode(chunk, { stream: true }));
      } catch (error) {
        if (!signal.aborted) throw error;
      }
    },

    /** Who the token belongs to. */
    me: () => body(api.GET('/api/ledger/me')),
    principals: () => body(api.GET('/api/ledger/principals')),
    principal: (principal: string) => body(api.GET('/api/ledger/principals/{id}', id(principal))),
    createPrincipal: (principal: PrincipalBody, options?: WriteOptions) =>
      body(api.POST('/api/ledger/principals', { body: principal, ...write(options) })),
    /** Issues a token for an agent or a service (admins); the token is shown once. */
    issueToken: (principal: string, token: TokenBody = { name: null }, options?: WriteOptions) =>
      body(api.POST('/api/ledger/principals/{id}/tokens', { ...id(principal), body: token, ...write(options) })),
    revokeToken: (tokenId: string, options?: WriteOptions) =>
      body(api.DELETE('/api/ledger/tokens/{token_id}', { params: { path: { token_id: tokenId } }, ...write(options) })),
  };
  return client;
}

/** A client made by createLedgerClient. */
export type LedgerClient = ReturnType<typeof createLedgerClient>;

/** Whether `error` is the API refusing with `code` (e.g. `isRefusal(error, 'STALE_CONTENT')`). */
export const isRefusal = (error: unknown, code?: string): error is LedgerApiError =>
  error instanceof LedgerApiError && (code === undefined || error.code === code);
