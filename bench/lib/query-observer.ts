// Sees every query node-postgres sends (BEGIN and COMMIT included, pool.query and client.query
// alike) by wrapping pg.Client.prototype.query: the benches count round trips and time statements
// with it. Importing this module installs the wrapper; observeQueries(null) turns it off.
import pg from 'pg';

/** Called as a query is sent; the function it returns, if any, when its answer has arrived. */
export type QueryObserver = (sql: string) => (() => void) | undefined;

let observer: QueryObserver | null = null;

export function observeQueries(next: QueryObserver | null): void {
  observer = next;
}

/** Whitespace collapsed, cut to `length`: a statement's label in reports. */
export const sqlLabel = (text: string, length = 90): string => text.replace(/\s+/g, ' ').trim().slice(0, length);

const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (
  this: pg.Client,
  ...args: unknown[]
) {
  const first = args[0] as string | { text?: string } | undefined;
  const done = observer?.(typeof first === 'string' ? first : (first?.text ?? '?'));
  if (!done) return original.apply(this, args);
  const last = args.at(-1);
  if (typeof last === 'function') {
    args[args.length - 1] = (...callbackArgs: unknown[]) => {
      done();
      return (last as (...a: unknown[]) => unknown)(...callbackArgs);
    };
    return original.apply(this, args);
  }
  const result = original.apply(this, args) as Promise<unknown> | undefined;
  result?.then(done, done);
  return result;
};
