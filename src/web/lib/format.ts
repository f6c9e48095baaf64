// Dates and durations as a reviewer reads them.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const formatDateTime = (iso: string | null | undefined): string => (iso ? dateTime.format(new Date(iso)) : '—');

function span(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/** "in 5 h", "overdue by 20 min", or null without a deadline. */
export function describeDeadline(iso: string | null, now = Date.now()): { text: string; overdue: boolean } | null {
  if (!iso) return null;
  const left = new Date(iso).getTime() - now;
  return left >= 0 ? { text: `in ${span(left)}`, overdue: false } : { text: `overdue by ${span(left)}`, overdue: true };
}

/** A status or code as words: PENDING_APPROVAL → "pending approval". */
export const words = (code: string): string => code.toLowerCase().replaceAll('_', ' ');
