// A small client for the HTTP API: a bearer token, JSON bodies, an Idempotency-Key on every POST
// (so a retried request never acts twice), retries of what the server asks to be retried (503, 429
// after Retry-After, core/retry.ts), and refusals turned into errors that read like the API.
import { randomUUID } from 'node:crypto';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayAfter } from '../core/retry.js';
import { type SseMessage, SseParser } from '../core/sse-parser.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
const API_PREFIX = '/api/ledger';

export interface ClientOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (a trailing `/api/ledger` is accepted too). */
  url?: string | undefined;
  token?: string | undefined;
  /** Per attempt; the server's own request timeout is 30 s. */
  timeoutMs?: number | undefined;
  /** Extra attempts after a connection dropped mid-request (never after a refusal or an answer). */
  retries?: number | undefined;
  /** Retries of 503 OVERLOADED/UNAVAILABLE and 429 answers to reads and keyed POSTs (default 5 attempts, 30 s). */
  retryPolicy?: RetryPolicy | undefined;
  fetch?: typeof fetch | undefined;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined> | undefined;
  body?: unknown;
  /** POST only; default: a fresh random UUID, reused by the automatic retries of this request. */
  idempotencyKey?: string | undefined;
}

export interface ApiErrorDetail {
  path?: string;
  message?: string;
  [key: string]: unknown;
}

/** The API's error shape (docs/errors.md). */
export interface ApiErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
  details?: ApiErrorDetail[];
  /** What to do about it, in one sentence (docs/errors.md). */
  fix?: string;
}

/** One detail on one line: `items[0].target_id: must be …`, or `item 0: CODE: message`. */
function detailLine(detail: ApiErrorDetail): string {
  const where =
    detail.path !== undefined
      ? detail.path || '(body)'
      : detail['key'] !== undefined
        ? `item ${String(detail['key'])}`
        : '';
  const code = typeof detail['code'] === 'string' ? `${detail['code']}: ` : '';
  const text = `${code}${detail.message ?? JSON.stringify(detail)}`;
  return `  ${where ? `${where}: ` : ''}${text}`;
}

/** A non-2xx answer: `CODE: message`, then each detail on its own line, then `fix: …`. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly body: ApiErrorBody;

  constructor(body: ApiErrorBody, hint?: string) {
    const lines = [`${body.code}: ${body.message}`, ...(body.details ?? []).map(detailLine)];
    if (typeof body.fix === 'string') lines.push(`fix: ${body.fix}`);
    if (hint) lines.push(hint);
    super(lines.join('\n'));
    this.name = 'ApiError';
    this.statusCode = body.statusCode;
    this.code = body.code;
    this.body = body;
  }
}

const isErrorBody = (value: unknown): value is ApiErrorBody =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ApiErrorBody).code === 'string' &&
  typeof (value as ApiErrorBody).message === 'string';

/** Failures where the request certainly never reached the server (safe to report at once). */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function causeOf(error: unknown): { code: string | undefined; text: string } {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown })?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  const codeText = typeof code === 'string' ? code : undefined;
  return { code: codeText, text: message || codeText || 'connection failed' };
}

export class LedgerClient {
  /** The server as given (what error messages name). */
  readonly url: string;
  private readonly api: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions = {}) {
    const url = (options.url ?? DEFAULT_URL).replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]/i.test(url))
      throw new Error(`--url must be an http:// or https:// address, got "${options.url}"`);
    this.url = url.endsWith(API_PREFIX) ? url.slice(0, -API_PREFIX.length) : url;
    this.api = `${this.url}${API_PREFIX}`;
    this.token = options.token || undefined;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.retries = options.retries ?? 1;
    this.retryPolicy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** `--url`/`--token` first, then CHANGELEDGER_URL/CHANGELEDGER_TOKEN, then the default URL. */
  static fromOptions(
    options: { url?: string | undefined; token?: string | undefined },
    env: NodeJS.ProcessEnv = process.env,
  ): LedgerClient {
    return new LedgerClient({
      url: options.url ?? (env['CHANGELEDGER_URL'] || undefined),
      token: options.token ?? env['CHANGELEDGER_TOKEN'],
    });
  }

  get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  post<T>(path: string, body?: unknown, options: { idempotencyKey?: string | undefined } = {}): Promise<T> {
    return this.request<T>('POST', path, { body, idempotencyKey: options.idempotencyKey });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (method === 'POST') headers['idempotency-key'] = options.idempotencyKey ?? randomUUID();
    const init: RequestInit = {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    };
    const url = this.urlOf(path, options.query);
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const response = await this.send(url, init);
      const wait = retryDelayAfter(
        { method, hasIdempotencyKey: headers['idempotency-key'] !== undefined, attempt, startedMs: started },
        response,
        { nowMs: Date.now(), jitter: Math.random() },
        this.retryPolicy,
      );
      if (wait === null) return this.read<T>(response);
      // The same request, Idempotency-Key included: what the first attempt did is replayed, not redone.
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /**
   * Opens a Server-Sent Events stream and yields its messages until the server ends it or `signal`
   * aborts; a refusal (4xx/5xx before the stream starts) throws as `request` does.
   */
  async *stream(path: string, query: RequestOptions['query'], signal: AbortSignal): AsyncGenerator<SseMessage> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await this.fetchImpl(this.urlOf(path, query), { headers, signal });
    } catch (error) {
      if (signal.aborted) return;
      throw new Error(`cannot reach changeledger at ${this.url}: ${causeOf(error).text}`, { cause: error });
    }
    if (!response.ok || !response.body) {
      await this.read(response);
      return;
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        yield* parser.push(decoder.decode(chunk as Uint8Array, { stream: true }));
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  private urlOf(path: string, query: RequestOptions['query']): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(name, String(value));
    const search = params.toString();
    return `${this.api}${path}${search ? `?${search}` : ''}`;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetchImpl(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (error) {
        if (error instanceof Error && error.name === 'TimeoutError') {
          throw new Error(`changeledger at ${this.url} did not answer within ${Math.round(this.timeoutMs / 1000)} s`);
        }
        const { code, text } = causeOf(error);
        // The same Idempotency-Key rides on the retry, so a request that did arrive is replayed, not redone.
        if (attempt < this.retries && !(code && NEVER_SENT.has(code))) {
          await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
          continue;
        }
        throw new Error(`cannot reach changeledger at ${this.url}: ${text}`, { cause: error });
      }
    }
  }

  private async read<T>(response: Response): Promise<T> {
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.ok) {
      if (body === undefined && text !== '')
        throw new Error(`changeledger at ${this.url} answered with something that is not JSON: ${text.slice(0, 200)}`);
      return body as T;
    }
    if (isErrorBody(body)) {
      const hint =
        body.code === 'UNAUTHENTICATED' && !this.token ? 'hint: pass --token or set CHANGELEDGER_TOKEN' : undefined;
      throw new ApiError({ ...body, statusCode: body.statusCode ?? response.status }, hint);
    }
    const snippet = text.trim().slice(0, 200);
    throw new ApiError({
      statusCode: response.status,
      code: `HTTP_${response.status}`,
      error: response.statusText,
      message: `${response.statusText || 'error'} from ${this.url}${snippet ? `: ${snippet}` : ''}`,
    });
  }
}
