// Database errors are translated here, by SQLSTATE code (never by message text).
import { LedgerError, RETRY_AFTER_SECONDS } from '../core/errors.js';

export const SQLSTATE = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  lockNotAvailable: '55P03',
  queryCanceled: '57014',
} as const;

export const sqlState = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

export const isUniqueViolation = (error: unknown, constraint?: string): boolean =>
  sqlState(error) === SQLSTATE.uniqueViolation &&
  (constraint === undefined || (error as { constraint?: string }).constraint === constraint);

export const isRetryable = (error: unknown): boolean => {
  const code = sqlState(error);
  return code === SQLSTATE.serializationFailure || code === SQLSTATE.deadlockDetected;
};

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
]);

/** The database cannot be reached: the client gets 503 UNAVAILABLE, never a 500. */
function isConnectionError(error: unknown): boolean {
  const code = sqlState(error);
  if (code && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(
    message,
  );
}

/**
 * Every connection of the pool stayed busy for the whole wait: the database is up, this instance is
 * overloaded (503 OVERLOADED). pg-pool raises this error, which has no code, only for a request
 * queued behind a full pool (a new connection that cannot be opened fails as a connection error).
 */
function isPoolWaitTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'timeout exceeded when trying to connect';
}

/** Text or JSON the database cannot store (NUL, invalid escapes): a bad request, not a crash. */
const UNSTORABLE = new Set(['22021', '22P05', '22P02', '22003']);

export function translateDbError(error: unknown): unknown {
  if (error instanceof LedgerError) return error;
  const code = sqlState(error);
  if (code && UNSTORABLE.has(code)) {
    return new LedgerError('VALIDATION_FAILED', 'the request holds a value the database cannot store', undefined, {
      cause: error,
    });
  }
  if (isPoolWaitTimeout(error)) {
    return new LedgerError(
      'OVERLOADED',
      `the server is busy (every database connection is in use): retry in ${RETRY_AFTER_SECONDS.OVERLOADED} s`,
      undefined,
      { cause: error },
    );
  }
  if (isConnectionError(error)) {
    return new LedgerError('UNAVAILABLE', 'the database is unavailable, try again shortly', undefined, {
      cause: error,
    });
  }
  return error;
}
