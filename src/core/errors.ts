// The one error catalog: every refusal the product can give, with its HTTP status.

export const ERROR_CATALOG = {
  VALIDATION_FAILED: { status: 400, error: 'Bad Request' },
  UNAUTHENTICATED: { status: 401, error: 'Unauthorized' },
  FORBIDDEN: { status: 403, error: 'Forbidden' },
  NOT_FOUND: { status: 404, error: 'Not Found' },
  DUPLICATE: { status: 409, error: 'Conflict' },
  INVALID_TRANSITION: { status: 409, error: 'Conflict' },
  CONFLICT: { status: 409, error: 'Conflict' },
  APPLY_FAILED: { status: 409, error: 'Conflict' },
  /** A decision sent with a content_hash that is no longer the change-set's content. */
  STALE_CONTENT: { status: 409, error: 'Conflict' },
  /** A repeat (same Idempotency-Key) of a request that issued a token or code: secrets are never replayed. */
  SECRET_SHOWN_ONCE: { status: 409, error: 'Conflict' },
  /** A one-time enrolment code already redeemed, or expired. */
  GONE: { status: 410, error: 'Gone' },
  PRECONDITION_FAILED: { status: 412, error: 'Precondition Failed' },
  PAYLOAD_TOO_LARGE: { status: 413, error: 'Payload Too Large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, error: 'Unsupported Media Type' },
  /** Submit's dry run found items that cannot be applied as things stand. */
  ITEMS_NOT_APPLICABLE: { status: 422, error: 'Unprocessable Entity' },
  POLICY_DENIED: { status: 422, error: 'Unprocessable Entity' },
  APPROVAL_UNSATISFIABLE: { status: 422, error: 'Unprocessable Entity' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, error: 'Unprocessable Entity' },
  RATE_LIMITED: { status: 429, error: 'Too Many Requests' },
  INTERNAL: { status: 500, error: 'Internal Server Error' },
  /** The database cannot be reached. */
  UNAVAILABLE: { status: 503, error: 'Service Unavailable' },
  /** The database is up but this instance is busy: no slot or pool connection freed up in time. */
  OVERLOADED: { status: 503, error: 'Service Unavailable' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/**
 * Refusals a client should retry after a pause, and the pause (the `Retry-After` header, seconds).
 * RATE_LIMITED computes its own from the principal's bucket.
 */
export const RETRY_AFTER_SECONDS = { OVERLOADED: 1, UNAVAILABLE: 2 } as const satisfies Partial<
  Record<ErrorCode, number>
>;

export interface ErrorDetail {
  path?: string;
  message: string;
  [key: string]: unknown;
}

/** A refusal: a known code, a message that says what was expected, and optional details. */
export class LedgerError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: ErrorDetail[] | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetail[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerError';
    this.code = code;
    this.statusCode = ERROR_CATALOG[code].status;
    this.details = details;
  }

  /** The API's error shape: `{statusCode, code, error, message, details?}`. */
  toBody(): { statusCode: number; code: ErrorCode; error: string; message: string; details?: ErrorDetail[] } {
    return {
      statusCode: this.statusCode,
      code: this.code,
      error: ERROR_CATALOG[this.code].error,
      message: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}
