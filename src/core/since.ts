// A look-back window as people write it: `30d`, `12h`, `90m`, or an ISO-8601 timestamp. Used by the
// shadow report (GET /api/ledger/policies?since=) and by replay (`policy replay --since`).
import { LedgerError } from './errors.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;
const DURATION = /^(\d{1,6})([dhm])$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/;

export const DEFAULT_SINCE = '30d';

/** The start of the window `text` names, counted back from `now`; 400 VALIDATION_FAILED otherwise. */
export function sinceDate(text: string, now: Date, path = 'since'): Date {
  const duration = DURATION.exec(text);
  if (duration) {
    const [, amount, unit] = duration;
    return new Date(now.getTime() - Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS]);
  }
  const at = ISO_TIMESTAMP.test(text) ? new Date(text) : null;
  if (at && !Number.isNaN(at.getTime())) return at;
  const message = `must be a duration (30d, 12h, 90m) or an ISO-8601 timestamp, got ${JSON.stringify(text)}`;
  throw new LedgerError('VALIDATION_FAILED', `${path} ${message}`, [{ path, message }]);
}
