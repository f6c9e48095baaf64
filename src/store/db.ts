// The Db port: the only way the rest of the code talks to a database. Two adapters implement it:
// node-postgres (PostgreSQL) and PGlite (embedded). Both run the same SQL.

export type Row = Record<string, unknown>;

export interface QueryResult<R = Row> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export type DbKind = 'postgres' | 'pglite';

export interface Db extends Queryable {
  readonly kind: DbKind;
  /** Runs `fn` in one transaction on one connection; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` on every NOTIFY on `channel` (payloads are not passed on: listeners re-read the
   * tables). It is also called after a lost listening connection is re-established, since
   * notifications sent meanwhile are gone. Resolves to a function that stops listening;
   * `close()` stops every listener too.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** JSON values travel as text and are cast with `::jsonb` in SQL, the same on both adapters. */
export const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/** Timestamps come back as Date from both drivers; the domain speaks ISO-8601 strings. */
export function iso(value: unknown): string;
export function iso(value: unknown, nullable: true): string | null;
export function iso(value: unknown, _nullable?: true): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}
