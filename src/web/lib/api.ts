// The API client: every call carries the token in the Authorization header, never in a URL. A read,
// or a POST (each carries an Idempotency-Key), answered 503 or 429 is sent again after its
// Retry-After, within core/retry.ts's bounds, before the page hears of it.
import { retryDelayAfter } from '../../core/retry.js';

/** A refusal from the API, with its code and message as the server wrote them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path?: string; message?: string; [key: string]: unknown }[] = [],
    /** What to do about it, when the server says (the optional `fix` of the error body). */
    readonly fix: string | null = null,
  ) {
    super(message);
  }
}

export interface Api {
  token: string;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
}

export const API_BASE = '/api/ledger';

/** A path segment, escaped (ids may hold any character). */
export const seg = (value: string): string => encodeURIComponent(value);

async function readError(response: Response): Promise<ApiError> {
  let body: { code?: string; message?: string; details?: ApiError['details']; fix?: string } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not JSON: a proxy's page, say
  }
  const message = body.message ?? `${response.status} ${response.statusText || 'request failed'}`;
  return new ApiError(
    response.status,
    body.code ?? `HTTP_${response.status}`,
    message,
    body.details ?? [],
    typeof body.fix === 'string' ? body.fix : null,
  );
}

/** A fresh Idempotency-Key (getRandomValues: randomUUID needs a secure context, plain http has none). */
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Sends the request, again while the server asks for a retry (same Idempotency-Key), within the bounds. */
async function fetchRetrying(url: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new ApiError(0, 'NETWORK', `the server cannot be reached (${(error as Error).message})`);
    }
    const wait = retryDelayAfter(
      {
        method: init.method ?? 'GET',
        hasIdempotencyKey: init.headers['idempotency-key'] !== undefined,
        attempt,
        startedMs: started,
      },
      response,
      { nowMs: Date.now(), jitter: Math.random() },
    );
    if (wait === null) return response;
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** `onUnauthorized` runs when the server no longer accepts the token (revoked, or the server was reset). */
export function createApi(token: string, onUnauthorized: () => void): Api {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method === 'POST') headers['idempotency-key'] = idempotencyKey();
    const response = await fetchRetrying(`${API_BASE}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) {
      const error = await readError(response);
      if (response.status === 401) onUnauthorized();
      throw error;
    }
    return (await response.json()) as T;
  }
  return {
    token,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
  };
}

/** Checks a token before it is kept: the principal it belongs to, or the API's refusal. */
export async function whoAmI<T>(token: string): Promise<T> {
  return createApi(token, () => {}).get<T>('/me');
}

export interface IssuedToken {
  token_id: string;
  token: string;
  principal_id: string;
}

/** Redeems a one-time enrolment code for a token of one's own (no token needed: the code is the credential). */
export async function redeemEnrolment(code: string): Promise<IssuedToken> {
  let response: Response;
  try {
    response = await fetch(`${API_BASE}/enrolments/redeem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ code }),
    });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `the server cannot be reached (${(error as Error).message})`);
  }
  if (!response.ok) throw await readError(response);
  return ((await response.json()) as { token: IssuedToken }).token;
}
