// Several writes in one statement. An action's writes (its rows, audit entries, outbox events and
// the change-set row) go to the database as one statement of data-modifying CTEs, one round trip
// instead of one per table. PostgreSQL runs each data-modifying CTE exactly once whether or not the
// rest of the statement reads it; all of them see the snapshot the statement started with, so they
// must not write the same rows (they write different tables, or different rows of one), and
// constraints and triggers run when the statement ends, seeing every part's rows.
import type { Queryable, QueryResult } from './db.js';

/** Collects a statement's parameters and hands out their placeholders in order. */
export class Params {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** One write's SQL, with its parameters added to `p`. */
export type Write = (p: Params) => string;

/** The statement text and parameters of `writes`: every write but the last is a CTE of the last. */
export function combine(writes: readonly Write[]): { text: string; values: unknown[] } {
  if (writes.length === 0) throw new Error('combine needs at least one write');
  const p = new Params();
  const parts = writes.map((write) => write(p));
  const last = parts.pop()!;
  const text = parts.length === 0 ? last : `WITH ${parts.map((part, i) => `w${i} AS (${part})`).join(', ')} ${last}`;
  return { text, values: p.values };
}

/**
 * Runs `writes` (nulls skipped) as one statement; the rows are the last write's (its RETURNING).
 * Nothing to write sends nothing.
 */
export async function runWrites<R = Record<string, unknown>>(
  db: Queryable,
  writes: readonly (Write | null)[],
): Promise<QueryResult<R>> {
  const present = writes.filter((write): write is Write => write !== null);
  if (present.length === 0) return { rows: [], rowCount: 0 };
  const { text, values } = combine(present);
  return db.query<R>(text, values);
}
