// Listing change-sets: filters, newest first, opaque cursors.
import { defined } from '../core/defined.js';
import { LedgerError } from '../core/errors.js';
import { type Principal, STATUSES, type Status } from '../core/types.js';
import { listChangeSets } from '../store/change-set-list.js';
import type { Queryable } from '../store/db.js';
import type { summaryOf } from './view.js';

export interface ListQuery {
  status?: string | undefined;
  category?: string | undefined;
  agent_id?: string | undefined;
  priority?: string | undefined;
  tag?: string | undefined;
  approver?: 'me' | undefined;
  q?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Only after validChangeSetCursor has accepted both parts. */
const toAfter = ([created_at, id]: string[]) => ({
  created_at: defined(created_at, 'cursor created_at'),
  id: defined(id, 'cursor id'),
});

export type ChangeSetSummary = ReturnType<typeof summaryOf>;

/** Opaque cursors: the sort key of the last row of a page. */
export const encodeCursor = (parts: readonly string[]): string =>
  Buffer.from(JSON.stringify(parts)).toString('base64url');

export function decodeCursor(
  cursor: string,
  arity: number,
  check: (parts: string[]) => boolean = () => true,
): string[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === 'string') && check(parts))
      return parts;
  } catch {
    // falls through to the refusal below
  }
  throw new LedgerError('VALIDATION_FAILED', 'cursor is not one this API returned', [
    { path: 'cursor', message: 'invalid cursor' },
  ]);
}

const validChangeSetCursor = ([createdAt, id]: string[]) =>
  createdAt !== undefined && id !== undefined && !Number.isNaN(Date.parse(createdAt)) && /^[0-9a-f-]{36}$/i.test(id);

function parseStatuses(value: string | undefined): Status[] | undefined {
  if (value === undefined) return undefined;
  const statuses = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = statuses.filter((s) => !STATUSES.includes(s as Status));
  if (unknown.length > 0) {
    throw new LedgerError('VALIDATION_FAILED', `unknown status ${unknown.join(', ')}: use ${STATUSES.join(', ')}`, [
      { path: 'status', message: `unknown status ${unknown.join(', ')}` },
    ]);
  }
  return statuses as Status[];
}

/** One page of change-sets; `next_cursor` asks for the next (null: this is the last). */
export interface ChangeSetPage {
  data: ChangeSetSummary[];
  next_cursor: string | null;
}

export async function listChangeSetSummaries(
  db: Queryable,
  actor: Principal,
  query: ListQuery,
  maxLimit: number,
): Promise<ChangeSetPage> {
  const limit = Math.min(query.limit ?? 50, maxLimit);
  const rows = await listChangeSets(db, {
    status: parseStatuses(query.status),
    category: query.category,
    agent_id: query.agent_id,
    priority: query.priority,
    tag: query.tag,
    q: query.q,
    approver: query.approver === 'me' ? actor : undefined,
    after: query.cursor ? toAfter(decodeCursor(query.cursor, 2, validChangeSetCursor)) : undefined,
    limit: limit + 1,
  });
  // The rows are summaries already, fields in summaryOf's order (store/change-set-read.ts).
  const data: ChangeSetSummary[] = rows.slice(0, limit);
  const last = data.at(-1);
  return { data, next_cursor: rows.length > limit && last ? encodeCursor([last.created_at, last.id]) : null };
}
