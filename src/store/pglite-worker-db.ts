// The embedded adapter with PGlite on a worker thread (pglite-worker.ts): the same database and SQL
// as pglite-db.ts, but its work runs on another core than the server's HTTP. Rows and errors cross
// by structured clone; errors keep their SQLSTATE and fields and are translated here, like the
// other adapters' (store/errors.ts). A worker that dies fails every waiting and later call with
// UNAVAILABLE (SQLSTATE 08006), never leaving one waiting.
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Db, Queryable, QueryResult, Row } from './db.js';
import { translateDbError } from './errors.js';
import type { ErrorFields, Reply, Request, WorkerOptions } from './pglite-worker.js';

export interface PgliteWorkerDbOptions {
  /** A directory to persist to; omitted → in memory. */
  dataDir?: string;
  /** Given the worker thread once started: tests end it as a crash would. */
  onWorker?: (worker: Worker) => void;
}

/** An error of the database, rebuilt on this side with the fields it had on the worker. */
export class PgliteWorkerError extends Error {
  code?: string;
  constraint?: string;
  constructor(fields: ErrorFields) {
    super(fields.message);
    const { name: _name, message: _message, stack: _stack, ...rest } = fields;
    Object.assign(this, rest);
    this.name = 'PgliteWorkerError';
  }
}

const CONNECTION_FAILURE = '08006';

/**
 * The worker's entry: the compiled .js beside this file, or under tsx (tests, benches) the .ts
 * source, loaded through tsx's loader registered on the worker first (Node 20 does not carry the
 * parent's `--import tsx` hooks over to a worker's entry module).
 */
function workerEntry(): { entry: URL | string; eval: boolean } {
  const ext = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./pglite-worker${ext}`, import.meta.url);
  if (ext !== '.ts') return { entry: url, eval: false };
  const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const boot = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return { entry: boot, eval: true };
}

type Pending = { resolve: (reply: Extract<Reply, { t: 'ok' }>) => void; reject: (error: unknown) => void };

export async function openPgliteWorkerDb(options: PgliteWorkerDbOptions = {}): Promise<Db> {
  const { entry, eval: evaluate } = workerEntry();
  const worker = new Worker(entry, {
    eval: evaluate,
    workerData: { ...(options.dataDir ? { dataDir: options.dataDir } : {}) } satisfies WorkerOptions,
  });
  options.onWorker?.(worker);
  const pending = new Map<number, Pending>();
  const listeners = new Map<number, () => void>();
  let nextId = 1;
  let nextTx = 1;
  let dead: Error | null = null;
  let closing: Promise<void> | null = null;

  // The worker keeps the process alive only while a call waits on it, like a socket in use.
  worker.unref();
  const settle = (id: number): Pending | undefined => {
    const entry = pending.get(id);
    pending.delete(id);
    if (pending.size === 0 && !closing) worker.unref();
    return entry;
  };

  const ready = new Promise<void>((resolve, reject) => {
    const die = (error: Error) => {
      if (dead) return;
      dead = Object.assign(new Error(`the embedded database's worker ended: ${error.message}`), {
        code: CONNECTION_FAILURE,
        cause: error,
      });
      reject(dead);
      for (const id of [...pending.keys()]) settle(id)?.reject(translateDbError(dead));
    };
    worker.on('message', (reply: Reply) => {
      switch (reply.t) {
        case 'ready':
          return resolve();
        case 'failed':
          return reject(new PgliteWorkerError(reply.error));
        case 'notify':
          return listeners.get(reply.listener)?.();
        case 'ok':
          return settle(reply.id)?.resolve(reply);
        case 'error':
          return settle(reply.id)?.reject(translateDbError(new PgliteWorkerError(reply.error)));
      }
    });
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(closing ? 'closed' : `exit code ${code}`)));
  });
  worker.ref();
  try {
    await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  } finally {
    worker.unref();
  }

  type Call = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
  const call = (request: Call): Promise<Extract<Reply, { t: 'ok' }>> => {
    if (dead) return Promise.reject(translateDbError(dead));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });
  };

  const queryable = (tx?: number): Queryable => ({
    async query<R = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const reply = await call({ t: 'query', text, ...(params ? { params } : {}), ...(tx ? { tx } : {}) });
      return { rows: (reply.rows ?? []) as R[], rowCount: reply.rowCount ?? 0 };
    },
    async exec(script: string): Promise<void> {
      await call({ t: 'exec', script, ...(tx ? { tx } : {}) });
    },
  });
  const direct = queryable();

  return {
    kind: 'pglite',
    query: direct.query,
    exec: direct.exec,
    // The worker runs the transaction in PGlite, which serialises transactions (one connection):
    // BEGIN goes with the first statement, without a round trip of its own.
    async transaction(fn) {
      if (dead) throw translateDbError(dead);
      const tx = nextTx++;
      worker.postMessage({ t: 'begin', tx } satisfies Request);
      let result: Awaited<ReturnType<typeof fn>>;
      try {
        result = await fn(queryable(tx));
      } catch (error) {
        // Rolled back; a failed ROLLBACK (a dead worker) does not hide the error that caused it.
        await call({ t: 'end', tx, commit: false }).catch(() => {});
        throw translateDbError(error);
      }
      await call({ t: 'end', tx, commit: true });
      return result;
    },
    // PGlite notifies when the notifying transaction commits; the worker passes it on.
    async listen(channel, onNotify) {
      const listener = nextId++;
      listeners.set(listener, onNotify);
      try {
        await call({ t: 'listen', listener, channel });
      } catch (error) {
        listeners.delete(listener);
        throw error;
      }
      return async () => {
        if (!listeners.delete(listener) || dead) return;
        await call({ t: 'unlisten', listener });
      };
    },
    close() {
      worker.ref();
      closing ??= (async () => {
        listeners.clear();
        if (dead) return;
        // Held until the thread has ended: its data is written by then.
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        await call({ t: 'close' });
        await exited;
      })();
      return closing;
    },
  };
}
