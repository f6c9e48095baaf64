/**
 * The one error catalog: every refusal the product can give, with its HTTP status and its `fix`,
 * the one-sentence instruction a client can act on when the throw site knows nothing more specific
 * (docs/errors.md lists the same; test/core/errors-docs.test.ts keeps them equal).
 */
export const ERROR_CATALOG = {
  VALIDATION_FAILED: {
    status: 400,
    error: 'Bad Request',
    fix: 'Fix every problem listed in details (each names the path of the field at fault) and send the request again.',
  },
  UNAUTHENTICATED: {
    status: 401,
    error: 'Unauthorized',
    fix: 'Send Authorization: Bearer <token> with a valid token: an admin issues one (POST /api/ledger/principals/{id}/tokens, or changeledger principal token create <id>), and a person signs in on the dashboard.',
  },
  FORBIDDEN: {
    status: 403,
    error: 'Forbidden',
    fix: 'Have the principal the message names take the action, or ask an admin for the group it needs; retrying as is will not help.',
  },
  NOT_FOUND: {
    status: 404,
    error: 'Not Found',
    fix: 'Check the reference, or list (GET /api/ledger/changesets, /api/ledger/resources) to find what you meant.',
  },
  DUPLICATE: {
    status: 409,
    error: 'Conflict',
    fix: 'Choose another id, or GET the existing one if your first request did succeed (an Idempotency-Key makes retries safe).',
  },
  INVALID_TRANSITION: {
    status: 409,
    error: 'Conflict',
    fix: 'GET the change-set and take one of the actions its current status allows (details: status, allowed; the fix names them).',
  },
  CONFLICT: {
    status: 409,
    error: 'Conflict',
    fix: 'Read the current state again (GET the change-set or resource the message names) and act on what it is now.',
  },
  APPLY_FAILED: {
    status: 409,
    error: 'Conflict',
    fix: 'Look at the plan (GET /api/ledger/changesets/{id}/plan), fix what the failed items name (usually drift), or apply in mode BEST_EFFORT.',
  },
  /** A decision sent with a content_hash that is no longer the change-set's content. */
  STALE_CONTENT: {
    status: 409,
    error: 'Conflict',
    fix: 'GET the change-set, review the new content and decide again with its content_hash.',
  },
  /** A repeat (same Idempotency-Key) of a request that issued a token or code: secrets are never replayed. */
  SECRET_SHOWN_ONCE: {
    status: 409,
    error: 'Conflict',
    fix: 'If the first answer was lost, revoke what it issued (DELETE /api/ledger/tokens/{token_id}) and ask again with a new Idempotency-Key.',
  },
  /** A one-time enrolment code already redeemed, or expired. */
  GONE: {
    status: 410,
    error: 'Gone',
    fix: 'Ask an admin for a new enrolment (POST /api/ledger/principals/{id}/enrolments), and tell them if you did not redeem this one yourself.',
  },
  PRECONDITION_FAILED: {
    status: 412,
    error: 'Precondition Failed',
    fix: 'GET it again and resend with If-Match set to its current ETag.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    error: 'Payload Too Large',
    fix: 'Split the change into several change-sets, or raise server.body_limit_bytes in the configuration.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    error: 'Unsupported Media Type',
    fix: 'Send the body as JSON with Content-Type: application/json.',
  },
  /** Submit's dry run found items that cannot be applied as things stand. */
  ITEMS_NOT_APPLICABLE: {
    status: 422,
    error: 'Unprocessable Entity',
    fix: 'Read the targets or the plan, edit the listed items to match the current states, and submit again.',
  },
  POLICY_DENIED: {
    status: 422,
    error: 'Unprocessable Entity',
    fix: 'Read the policy messages in details and change the change-set so that no deny policy matches, or get the approvals its step needs.',
  },
  APPROVAL_UNSATISFIABLE: {
    status: 422,
    error: 'Unprocessable Entity',
    fix: "Add eligible approvers (approval_chain, the category's approvers, the policy's group) or re-activate principals, then submit again.",
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    error: 'Unprocessable Entity',
    fix: 'Use a new Idempotency-Key for a different request; repeat the same body to replay the first answer.',
  },
  RATE_LIMITED: {
    status: 429,
    error: 'Too Many Requests',
    fix: 'Retry after Retry-After seconds, and send fewer write requests a minute (batch items into fewer change-sets).',
  },
  INTERNAL: {
    status: 500,
    error: 'Internal Server Error',
    fix: 'Report it with the request, and GET what you acted on to see whether it took effect before retrying.',
  },
  /** The database cannot be reached. */
  UNAVAILABLE: {
    status: 503,
    error: 'Service Unavailable',
    fix: 'Retry after Retry-After seconds with the same Idempotency-Key.',
  },
  /** The database is up but this instance is busy: no slot or pool connection freed up in time. */
  OVERLOADED: {
    status: 503,
    error: 'Service Unavailable',
    fix: 'Retry after Retry-After seconds with the same Idempotency-Key.',
  },
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

export interface LedgerErrorOptions {
  cause?: unknown;
  /** A fix more specific than the catalog's (who may act, which actions the status allows, …). */
  fix?: string;
}

/** Every refusal's body: `{statusCode, code, error, message, details?, fix}`. */
export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  error: string;
  message: string;
  details?: ErrorDetail[];
  fix: string;
}

/** A refusal: a known code, a message that says what was expected, and optional details. */
export class LedgerError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: ErrorDetail[] | undefined;
  /** What to do about it, in one sentence: the throw site's when it knows better, else the catalog's. */
  readonly fix: string;

  constructor(code: ErrorCode, message: string, details?: ErrorDetail[], options?: LedgerErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LedgerError';
    this.code = code;
    this.statusCode = ERROR_CATALOG[code].status;
    this.details = details;
    this.fix = options?.fix ?? ERROR_CATALOG[code].fix;
  }

  /** The API's error shape (docs/errors.md). */
  toBody(): ErrorBody {
    return {
      statusCode: this.statusCode,
      code: this.code,
      error: ERROR_CATALOG[this.code].error,
      message: this.message,
      ...(this.details ? { details: this.details } : {}),
      fix: this.fix,
    };
  }
}
