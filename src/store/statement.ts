// Several writes in one statement. An action's writes (its rows, audit entries, outbox events and
// the change-set row) go to the database as one statement of data-modifying CTEs, one round trip
// instead of one per table. PostgreSQL runs each data-modifying CTE exactly once whether or not the
// rest of the statement reads it; all of them see the snapshot the statement started with, so they
// must not write the same rows (they write different tables, or different rows of one), and
// constraints and triggers run when the statement ends, seeing every part's rows.
//
// Two rules follow, checked in development and tests (STATEMENT_CHECKS), never in production:
// - the parts of one statement write different rows (`combine` checks the keys each part declares
//   with `keyed`; a part that declares none may write any row of its table);
// - an optimistic action writes only through its one guarded statement (`guardedWritesOnly`).
import { defined } from '../core/defined.js';
import type { Queryable, QueryResult } from './db.js';

/**
 * Whether the rules above are checked: under NODE_ENV development or test, and under vitest. In
 * production nothing is checked and nothing is wrapped.
 */
export const STATEMENT_CHECKS =
  process.env['NODE_ENV'] === 'development' ||
  process.env['NODE_ENV'] === 'test' ||
  process.env['VITEST'] !== undefined;

/** A broken rule of the statement builder: a bug in the code that built the statement. */
export class StatementRuleError extends Error {
  override readonly name = 'StatementRuleError';
}

/** Collects a statement's parameters and hands out their placeholders in order. */
export class Params {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * One write's SQL, with its parameters added to `p`. `rows`, when declared (see `keyed`), gives the
 * keys of the rows it writes in its table; only the checks call it.
 */
export interface Write {
  (p: Params): string;
  rows?: () => readonly unknown[];
}

/**
 * `write`, declaring the keys of the rows it writes (each key a value or a tuple, compared by its
 * JSON; the same kind of key for every write of a table). Rows the database creates with new keys
 * (a sequence) are `[]`: no other part can write them. `keys` runs only when the rules are checked.
 */
export function keyed(keys: () => readonly unknown[], write: (p: Params) => string): Write {
  return STATEMENT_CHECKS ? Object.assign(write, { rows: keys }) : write;
}

/** The table a part writes (INSERT, UPDATE, DELETE, MERGE), or nothing for a read. */
const WRITTEN_TABLE = /^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+([A-Za-z_][A-Za-z0-9_.]*)/i;
/** A data-modifying statement anywhere in a text (its CTEs included). */
const WRITES =
  /\b(?:INSERT\s+INTO|DELETE\s+FROM|MERGE\s+INTO|TRUNCATE)\b|\bUPDATE\s+[A-Za-z_][A-Za-z0-9_.]*(?:\s+[A-Za-z_]\w*)?\s+SET\b/i;

/** A row both write (its key, or 'any row' when either may write any), or null. */
function sharedRow(a: Set<string> | null, b: Set<string> | null): string | null {
  if (a?.size === 0 || b?.size === 0) return null;
  if (a === null || b === null) return 'any row';
  for (const key of a) if (b.has(key)) return `row ${key}`;
  return null;
}

/** Throws when two parts write the same rows of one table (a part without keys: any of its rows). */
function checkDisjoint(writes: readonly Write[], parts: readonly string[]): void {
  const seen = new Map<string, { part: number; keys: Set<string> | null }[]>();
  parts.forEach((text, part) => {
    const table = WRITTEN_TABLE.exec(text)?.[1]?.toLowerCase();
    if (!table) return;
    const declared = defined(writes[part], 'write of a part').rows;
    const keys = declared ? new Set(declared().map((key) => JSON.stringify(key))) : null;
    const earlier = seen.get(table) ?? [];
    for (const other of earlier) {
      const shared = sharedRow(keys, other.keys);
      if (shared)
        throw new StatementRuleError(
          `parts ${other.part} and ${part} of one statement both write ${table} (${shared}): the parts of a ` +
            'statement must write different rows (store/statement.ts)',
        );
    }
    seen.set(table, [...earlier, { part, keys }]);
  });
}

/** The statement text and parameters of `writes`: every write but the last is a CTE of the last. */
export function combine(writes: readonly Write[]): { text: string; values: unknown[] } {
  if (writes.length === 0) throw new Error('combine needs at least one write');
  const p = new Params();
  const parts = writes.map((write) => write(p));
  if (STATEMENT_CHECKS) checkDisjoint(writes, parts);
  const last = defined(parts.pop(), 'last part');
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

/** What marks the guarded statement: the change-set's version guard (migration 0005, engine/scope.ts). */
const VERSION_GUARD = 'changeledger_version_guard(';

/**
 * `db` as an optimistic action sees it: reads pass, and exactly one write, the guarded statement
 * (the one that calls the version guard, so that nothing of it remains when the version moved).
 * Any other write, before or after it, throws: it would stay when the action runs again under the
 * lock. Without STATEMENT_CHECKS this is `db` itself.
 */
export function guardedWritesOnly(db: Queryable): Queryable {
  if (!STATEMENT_CHECKS) return db;
  let committed = false;
  return {
    query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      if (WRITES.test(text)) {
        const why = !text.includes(VERSION_GUARD)
          ? 'a write outside the guarded statement'
          : committed
            ? 'a second guarded statement'
            : null;
        if (why)
          return Promise.reject(
            new StatementRuleError(
              `${why} in an optimistic action: it writes only through commitChangeSet, once (store/statement.ts) — ${text.slice(0, 80)}`,
            ),
          );
        committed = true;
      }
      return db.query<R>(text, params);
    },
    exec(): Promise<void> {
      return Promise.reject(new StatementRuleError('an optimistic action runs no scripts (store/statement.ts)'));
    },
  };
}
