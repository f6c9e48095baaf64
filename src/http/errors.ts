// Every error leaves the API in the shape of docs/errors.md {statusCode, code, error, message, details?, fix}.
// Known refusals keep their code; framework errors are mapped by their code; anything else is a
// 500 with a generic message (the details go to the log, never to the client).
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { LedgerError } from '../core/errors.js';
import { mergeIssues, type SchemaError, type SchemaIssue, schemaIssues, withAllErrors } from '../core/schema-issues.js';
import { type ValidationIssue, validationError } from '../core/validate-change-set.js';

/**
 * The schema validator of every route: TypeBox's, as @fastify/type-provider-typebox compiles it
 * (query, params and headers converted to their types first), reporting every problem at once.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  return (value) => {
    const converted = httpPart === 'body' ? value : Value.Convert(schema, value);
    if (check.Check(converted)) return { value: converted };
    return { error: withAllErrors(() => check.Errors(converted)) as FastifySchemaValidationError[] };
  };
};

/** Where each part of a request is, and the prefix its problems' paths take (`query.limit`). */
const PARTS = {
  body: { prefix: '', read: (request: RequestParts) => request.body },
  querystring: { prefix: 'query', read: (request: RequestParts) => request.query },
  params: { prefix: 'params', read: (request: RequestParts) => request.params },
  headers: { prefix: 'headers', read: (request: RequestParts) => request.headers },
} as const;

/** The parts of a request a schema checks (a FastifyRequest). */
export interface RequestParts {
  body?: unknown;
  query?: unknown;
  params?: unknown;
  headers?: unknown;
  /** Fastify's: the route's path and its body limit, for a refusal that names them. */
  routeOptions?: { url?: string | undefined; bodyLimit?: number | undefined };
}

/** The problems of a request part that failed its schema, at the paths a client wrote them. */
export function requestSchemaIssues(
  errors: readonly SchemaError[],
  context: string | undefined,
  request?: RequestParts,
): SchemaIssue[] {
  const part = PARTS[(context ?? 'body') as keyof typeof PARTS] ?? PARTS.body;
  return schemaIssues(errors, { prefix: part.prefix, ...(request ? { value: part.read(request) } : {}) });
}

type FrameworkError = Error & {
  code?: string;
  statusCode?: number;
  validation?: SchemaError[];
  validationContext?: string;
};

/** Routes whose bodies carry change-sets: there, splitting the change is the way under the limit. */
const CARRIES_CHANGE_SETS = /\/(changesets|mcp)(\/|$)/;

/** 413 with this route's limit: Slack's route has a fixed one, every other server.body_limit_bytes. */
function payloadTooLarge(route: RequestParts['routeOptions']): LedgerError {
  const limit = route?.bodyLimit;
  const path = route?.url;
  if (limit === undefined || path === undefined)
    return new LedgerError('PAYLOAD_TOO_LARGE', 'the request body is larger than server.body_limit_bytes allows');
  const message = `the request body is larger than the ${limit} bytes ${path} accepts`;
  if (CARRIES_CHANGE_SETS.test(path))
    return new LedgerError('PAYLOAD_TOO_LARGE', `${message} (server.body_limit_bytes)`);
  return new LedgerError('PAYLOAD_TOO_LARGE', message, undefined, {
    fix: `Send a body of at most ${limit} bytes: no request to this route needs more.`,
  });
}

const BY_FRAMEWORK_CODE: Record<string, (e: FrameworkError, request?: RequestParts) => LedgerError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_e, request) => payloadTooLarge(request?.routeOptions),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (e) =>
    new LedgerError('UNSUPPORTED_MEDIA_TYPE', `${e.message}: send application/json`),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new LedgerError(
      'VALIDATION_FAILED',
      'the body is empty but Content-Type is application/json: send a JSON object or no Content-Type',
    ),
  FST_ERR_CTP_INVALID_JSON_BODY: (e) =>
    new LedgerError('VALIDATION_FAILED', `the body is not valid JSON: ${e.message}`),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new LedgerError('VALIDATION_FAILED', 'Content-Length does not match the body'),
};

const BY_STATUS: Record<number, LedgerError['code']> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

/**
 * A change-set body that failed its schema, refused with core's problems of it too: the shape and
 * the meaning (duplicate keys, unknown dependencies, cycles) in one answer, one detail per path.
 * Any other schema failure (the params) is refused as it is.
 */
export function changeSetBodyRefusal(
  error: Error,
  request: RequestParts,
  problems: (body: unknown) => ValidationIssue[],
): LedgerError {
  const raw = error as FrameworkError;
  if (!Array.isArray(raw.validation) || raw.validationContext !== 'body') return toLedgerError(error, request);
  const schema = requestSchemaIssues(raw.validation, 'body', request);
  return validationError(mergeIssues<ValidationIssue>(problems(request.body), schema));
}

/** Database errors arrive translated already (store/errors.ts, in both adapters). */
export function toLedgerError(raw: unknown, request?: RequestParts): LedgerError {
  const error = raw as FrameworkError;
  if (error instanceof LedgerError) return error;
  if (Array.isArray(error.validation)) {
    return validationError(requestSchemaIssues(error.validation, error.validationContext, request));
  }
  const byCode = error.code ? BY_FRAMEWORK_CODE[error.code] : undefined;
  if (byCode) return byCode(error, request);
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return new LedgerError('VALIDATION_FAILED', `the body is not valid JSON: ${error.message}`);
  }
  const status = error.statusCode;
  if (status && status >= 400 && status < 500) {
    return new LedgerError(BY_STATUS[status] ?? 'VALIDATION_FAILED', error.message);
  }
  return new LedgerError('INTERNAL', 'internal error: the server could not complete the request', undefined, {
    cause: raw,
  });
}
