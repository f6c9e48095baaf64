// What the typed client throws when the API refuses a request: the error body of docs/errors.md as
// a class, with a message a person can read (`CODE: message`, then one line per detail).
import { parseRetryAfter } from '../core/retry.js';

export interface ApiErrorDetail {
  path?: string;
  message?: string;
  allowed?: string[];
  [key: string]: unknown;
}

/** The API's error shape (docs/errors.md). */
export interface ApiErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
  details?: ApiErrorDetail[];
  /** What to do about it, when the server says. */
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

/**
 * A refusal (any non-2xx answer). `status`, `code`, `details` and `fix` come from the error body;
 * `message` reads `CODE: message` followed by one line per detail, and `body.message` is the
 * server's message alone. `tokenSent` says whether the request carried a bearer token (an
 * UNAUTHENTICATED answer without one means: give one).
 */
export class LedgerApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ApiErrorDetail[];
  readonly fix: string | undefined;
  readonly body: ApiErrorBody;
  readonly tokenSent: boolean;
  /**
   * Seconds the server asked the caller to wait before sending the request again (its Retry-After,
   * with a 429 or 503: the request did nothing); null when it asked for no retry.
   */
  readonly retryAfterS: number | null;

  constructor(body: ApiErrorBody, tokenSent = true, retryAfterS: number | null = null) {
    super(
      [
        `${body.code}: ${body.message}`,
        ...(body.details ?? []).map(detailLine),
        ...(typeof body.fix === 'string' ? [`fix: ${body.fix}`] : []),
      ].join('\n'),
    );
    this.name = 'LedgerApiError';
    this.status = body.statusCode;
    this.code = body.code;
    this.details = body.details ?? [];
    this.fix = typeof body.fix === 'string' ? body.fix : undefined;
    this.body = body;
    this.tokenSent = tokenSent;
    this.retryAfterS = retryAfterS;
  }
}

const isErrorBody = (value: unknown): value is ApiErrorBody =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ApiErrorBody).code === 'string' &&
  typeof (value as ApiErrorBody).message === 'string';

/**
 * The refusal of `response`, whose body was read as `body` (parsed JSON, or the text when it was
 * not JSON). An answer not in the API's shape (a proxy's 502 page) is named by its status:
 * `HTTP_502: Bad Gateway from <server>: <the start of its text>`.
 */
export function refusalOf(response: Response, body: unknown, server: string, tokenSent: boolean): LedgerApiError {
  const asked = parseRetryAfter(response.headers.get('retry-after'), Date.now());
  const retryAfterS =
    (response.status === 429 || response.status === 503) && asked !== null ? Math.ceil(asked / 1000) : null;
  if (isErrorBody(body))
    return new LedgerApiError({ ...body, statusCode: body.statusCode ?? response.status }, tokenSent, retryAfterS);
  const text = typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body);
  const snippet = text.trim().slice(0, 200);
  return new LedgerApiError(
    {
      statusCode: response.status,
      code: `HTTP_${response.status}`,
      error: response.statusText,
      message: `${response.statusText || 'error'} from ${server}${snippet ? `: ${snippet}` : ''}`,
    },
    tokenSent,
    retryAfterS,
  );
}
