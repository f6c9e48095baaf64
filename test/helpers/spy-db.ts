// The real database seen through a spy: it records every statement sent (inside transactions too)
// and can run something of the test's right after a chosen statement has been answered, before
// the caller sees the answer (to hold a request there, or to let another writer in).
import type { Db, Queryable, QueryResult } from '../../src/store/db.js';

export class SpyDb implements Db {
  readonly sent: string[] = [];
  /** Transactions begun through this spy. */
  transactions = 0;
  private intercepts: { pattern: RegExp; then: () => Promise<void> }[] = [];

  constructor(private readonly real: Db) {}

  get kind() {
    return this.real.kind;
  }

  /** How many statements were sent while `fn` ran. */
  async count(fn: () => Promise<unknown>): Promise<number> {
    const before = this.sent.length;
    await fn();
    return this.sent.length - before;
  }

  /** Runs `then` once, after the next statement matching `pattern` is answered and before its caller resumes. */
  afterNext(pattern: RegExp, then: () => Promise<void>): void {
    this.intercepts.push({ pattern, then });
  }

  /** Holds the next answer to a statement matching `pattern`: `reached` resolves once it has been read. */
  holdNext(pattern: RegExp): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.afterNext(pattern, () => {
      reached();
      return gate;
    });
    return { reached: reachedPromise, release };
  }

  private async send<R>(on: Queryable, text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    this.sent.push(text);
    const result = await on.query<R>(text, params);
    const index = this.intercepts.findIndex((intercept) => intercept.pattern.test(text));
    if (index >= 0) {
      const [intercept] = this.intercepts.splice(index, 1);
      await intercept!.then();
    }
    return result;
  }

  query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.send<R>(this.real, text, params);
  }

  exec(script: string): Promise<void> {
    this.sent.push(script);
    return this.real.exec(script);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.transactions++;
    return this.real.transaction((tx) =>
      fn({
        query: <R>(text: string, params?: readonly unknown[]) => this.send<R>(tx, text, params),
        exec: (script: string) => {
          this.sent.push(script);
          return tx.exec(script);
        },
      }),
    );
  }

  listen(channel: string, onNotify: () => void) {
    return this.real.listen(channel, onNotify);
  }

  close() {
    return this.real.close();
  }
}
