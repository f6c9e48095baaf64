// Every error leaves the API in the shape of docs/errors.md {statusCode, code, error, message, details?}.
// Known refusals keep their code; framework errors are mapped by their code; anything else is a
// 500 with a generic message (the details go to the log, never to the client).
import { LedgerError } from '../core/errors.js';
import { pointerToPath } from '../core/json-pointer.js';
import { type ValidationIssue, validationError } from '../core/validate-change-set.js';

interface SchemaError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function schemaIssues(errors: readonly SchemaError[], context: string | undefined): ValidationIssue[] {
  const prefix = context && context !== 'body' ? `${context}.` : '';
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    // An unknown property is reported twice by the schema checker: keep the one at its own path.
    if (error.keyword === 'additionalProperties') continue;
    const path = prefix + pointerToPath(error.instancePath ?? '');
    const message = error.keyword === 'boolean' ? 'unknown field' : (error.message ?? 'is invalid');
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path: path.replace(/\.$/, ''), message });
  }
  return issues;
}

type FrameworkError = Error & {
  code?: string;
  statusCode?: number;
  validation?: SchemaError[];
  validationContext?: string;
};

const BY_FRAMEWORK_CODE: Record<string, (e: FrameworkError) => LedgerError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    new LedgerError('PAYLOAD_TOO_LARGE', 'the request body is larger than server.body_limit_bytes allows'),
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

/** Database errors arrive translated already (store/errors.ts, in both adapters). */
export function toLedgerError(raw: unknown): LedgerError {
  const error = raw as FrameworkError;
  if (error instanceof LedgerError) return error;
  if (Array.isArray(error.validation)) return validationError(schemaIssues(error.validation, error.validationContext));
  const byCode = error.code ? BY_FRAMEWORK_CODE[error.code] : undefined;
  if (byCode) return byCode(error);
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
