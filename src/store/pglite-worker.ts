// The embedded database on a worker thread: this file runs there (pglite-worker-db.ts starts it).
// It owns one PGlite and answers the messages of the Db port's adapter, so that the database's
// work (WebAssembly, synchronous) runs on a core of its own while the server's thread serves HTTP.
//
// A transaction is PGlite's own: `begin` starts pglite.transaction(), whose callback runs the
// statements sent for that transaction in the order they arrive and ends at `end`. PGlite holds
// every other query and transaction until it has ended, as it does in the server's thread.
import { parentPort, workerData } from 'node:worker_threads';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { createPglite } from './pglite-open.js';
import { PreparedStatements } from './pglite-prepared.js';

export interface WorkerOptions {
  dataDir?: string;
}

export type Request =
  | { t: 'query'; id: number; tx?: number; text: string; params?: readonly unknown[] }
  | { t: 'exec'; id: number; tx?: number; script: string }
  /** No answer: the transaction's first statement or its `end` reports a failed BEGIN. */
  | { t: 'begin'; tx: number }
  | { t: 'end'; id: number; tx: number; commit: boolean }
  | { t: 'listen'; id: number; listener: number; channel: string }
  | { t: 'unlisten'; id: number; listener: number }
  | { t: 'close'; id: number };

/** An error's own fields (SQLSTATE `code`, `constraint`, `detail`…) travel with its message. */
export interface ErrorFields {
  name: string;
  message: string;
  [field: string]: unknown;
}

export type Reply =
  | { t: 'ready' }
  | { t: 'failed'; error: ErrorFields }
  | { t: 'ok'; id: number; rows?: unknown[]; rowCount?: number }
  | { t: 'error'; id: number; error: ErrorFields }
  | { t: 'notify'; listener: number };

type TxStep = Extract<Request, { t: 'query' | 'exec' | 'end' }>;

if (!parentPort) throw new Error('pglite-worker.ts runs on a worker thread');
const port = parentPort;

export function errorFields(error: unknown): ErrorFields {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields: ErrorFields = { name: error.name, message: error.message };
  for (const [key, value] of Object.entries(error)) {
    // Only plain values: PGlite's errors also carry the query and its parameters.
    if (key === 'query' || key === 'params' || key === 'queryOptions') continue;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  }
  return fields;
}

const post = (reply: Reply) => port.postMessage(reply);

/** Statements of one open transaction, in the order they were sent. */
class TxQueue {
  private readonly waiting: TxStep[] = [];
  private wake: (() => void) | null = null;

  push(step: TxStep): void {
    this.waiting.push(step);
    this.wake?.();
    this.wake = null;
  }

  async next(): Promise<TxStep> {
    while (this.waiting.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.waiting.shift() as TxStep;
  }
}

/** Thrown inside pglite.transaction() to roll it back on the adapter's request. */
const ROLLBACK = Symbol('rollback');

let prepared: PreparedStatements;

/** Runs `step` on PGlite, or in its transaction `tx`. */
async function run(pglite: PGlite, step: Extract<TxStep, { t: 'query' | 'exec' }>, tx?: Transaction): Promise<void> {
  try {
    if (step.t === 'query') {
      const result = await prepared.query(step.text, step.params, tx);
      post({ t: 'ok', id: step.id, rows: result.rows, rowCount: result.rowCount });
    } else {
      await (tx ?? pglite).exec(step.script).finally(() => prepared.forgetAll());
      post({ t: 'ok', id: step.id });
    }
  } catch (error) {
    post({ t: 'error', id: step.id, error: errorFields(error) });
  }
}

function transaction(pglite: PGlite, queue: TxQueue): void {
  let ended: Extract<TxStep, { t: 'end' }> | null = null;
  pglite
    .transaction(async (tx) => {
      for (;;) {
        const step = await queue.next();
        if (step.t === 'end') {
          ended = step;
          if (!step.commit) throw ROLLBACK;
          return;
        }
        await run(pglite, step, tx);
      }
    })
    .then(
      () => post({ t: 'ok', id: (ended as TxStep).id }),
      async (error: unknown) => {
        if (ended && error === ROLLBACK) return post({ t: 'ok', id: ended.id });
        // BEGIN or COMMIT failed: every statement still sent for it, and its end, get the error.
        const fields = errorFields(error);
        let step = ended;
        while (!step) {
          const next = await queue.next();
          if (next.t === 'end') step = next;
          else post({ t: 'error', id: next.id, error: fields });
        }
        post({ t: 'error', id: step.id, error: fields });
      },
    );
}

async function main(options: WorkerOptions): Promise<void> {
  let pglite: PGlite;
  try {
    pglite = await createPglite(options.dataDir);
  } catch (error) {
    post({ t: 'failed', error: errorFields(error) });
    return;
  }
  prepared = new PreparedStatements(pglite);
  const transactions = new Map<number, TxQueue>();
  const unlisteners = new Map<number, () => Promise<void>>();
  port.on('message', (request: Request) => {
    switch (request.t) {
      case 'query':
      case 'exec': {
        if (request.tx === undefined) void run(pglite, request);
        else transactions.get(request.tx)?.push(request);
        return;
      }
      case 'begin': {
        const queue = new TxQueue();
        transactions.set(request.tx, queue);
        transaction(pglite, queue);
        return;
      }
      case 'end': {
        transactions.get(request.tx)?.push(request);
        transactions.delete(request.tx);
        return;
      }
      case 'listen': {
        const { listener } = request;
        pglite
          .listen(request.channel, () => post({ t: 'notify', listener }))
          .then(
            (unlisten) => {
              unlisteners.set(listener, unlisten);
              post({ t: 'ok', id: request.id });
            },
            (error: unknown) => post({ t: 'error', id: request.id, error: errorFields(error) }),
          );
        return;
      }
      case 'unlisten': {
        const unlisten = unlisteners.get(request.listener);
        unlisteners.delete(request.listener);
        (unlisten?.() ?? Promise.resolve()).then(
          () => post({ t: 'ok', id: request.id }),
          (error: unknown) => post({ t: 'error', id: request.id, error: errorFields(error) }),
        );
        return;
      }
      case 'close': {
        // PGlite finishes what it holds, writes its data directory and shuts down; then this
        // thread ends with nothing left to run.
        pglite.close().then(
          () => {
            post({ t: 'ok', id: request.id });
            port.close();
          },
          (error: unknown) => {
            post({ t: 'error', id: request.id, error: errorFields(error) });
            port.close();
          },
        );
        return;
      }
    }
  });
  post({ t: 'ready' });
}

void main(workerData as WorkerOptions);
