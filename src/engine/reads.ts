// GET /changesets/:id gathered: the reads of one instance wait for the next batch, read by one
// statement for all of them (the read analogue of group commit), and a view this instance already
// serialised is answered from memory once one cheap statement has shown that its inputs are
// unchanged.
//
// Consistency: a read sees every write committed before it was asked for, on any instance. A
// request joins only a batch not yet sent: while one batch is in flight the next one gathers, and
// it is sent when the first has been answered. So every statement that answers a request (the
// read, or the check of a cached view) starts after the request arrived, and PostgreSQL's
// statement snapshot (READ COMMITTED) then includes everything committed before. Nothing is ever
// answered on the strength of an event or of an earlier statement alone: a cached view is served
// only when a statement sent after the request returned exactly the inputs it was built from.
import type { ChangeSet } from '../core/types.js';
import { referenceKey, type ViewInputs } from '../store/change-set-read.js';

/** A view serialised for the API, with its version (the ETag). */
export interface RenderedView {
  version: number;
  text: string;
}

interface Waiter {
  key: string;
  /** Set when the caller wants the serialised view (cacheable), unset when it wants the object. */
  render?: (view: ChangeSet) => string;
  resolve(value: ChangeSet | RenderedView | null): void;
  reject(error: unknown): void;
}

type ReadView = { view: ChangeSet; inputs: ViewInputs };

/** The two statements of a batch (store/change-set-read.ts), each by references as referenceKey spells them. */
export interface ViewStatements {
  /** The views with their inputs (readChangeSets). */
  read(references: readonly string[]): Promise<Map<string, ReadView>>;
  /** Only the inputs, to check cached views (readViewInputs). */
  check(references: readonly string[]): Promise<Map<string, ViewInputs>>;
}

interface Cached {
  inputs: ViewInputs;
  text: string;
}

const sameInputs = (a: ViewInputs, b: ViewInputs): boolean =>
  a.id === b.id && a.version === b.version && a.row_xmin === b.row_xmin && a.candidates === b.candidates;

/** Serialised views by reference, least recently used first, bounded by the characters they hold. */
class ViewCache {
  private readonly entries = new Map<string, Cached>();
  private size = 0;

  constructor(private readonly maxChars: number) {}

  get(key: string): Cached | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: Cached): void {
    this.delete(key);
    if (entry.text.length > this.maxChars) return;
    this.entries.set(key, entry);
    this.size += entry.text.length;
    for (const [oldest, old] of this.entries) {
      if (this.size <= this.maxChars) break;
      this.entries.delete(oldest);
      this.size -= old.text.length;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.size -= entry.text.length;
  }
}

export interface ReadOptions {
  /** Requests one statement answers at most; the rest wait for the next batch. */
  maxBatch?: number;
  /** Characters of serialised views kept (cache.view_bytes); 0 keeps none. */
  cacheChars?: number;
}

export class ChangeSetReads {
  private gathering: Waiter[] = [];
  private inFlight = false;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly cache: ViewCache | null;

  constructor(
    private readonly statements: ViewStatements,
    options: ReadOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 128;
    const chars = options.cacheChars ?? 0;
    this.cache = chars > 0 ? new ViewCache(chars) : null;
  }

  /** The change-set as the API returns it, or null: a fresh object, read in the next batch. */
  get(reference: string): Promise<ChangeSet | null> {
    return this.enqueue(reference) as Promise<ChangeSet | null>;
  }

  /** The view serialised by `render` (kept for the next request while its inputs stay the same), or null. */
  rendered(reference: string, render: (view: ChangeSet) => string): Promise<RenderedView | null> {
    return this.enqueue(reference, render) as Promise<RenderedView | null>;
  }

  private enqueue(reference: string, render?: (view: ChangeSet) => string) {
    return new Promise<ChangeSet | RenderedView | null>((resolve, reject) => {
      this.gathering.push({ key: referenceKey(reference), ...(render ? { render } : {}), resolve, reject });
      this.schedule();
    });
  }

  /**
   * Sends the gathered batch after the current I/O phase (so that requests parsed together go
   * together), unless one is in flight: then it goes when that one has been answered.
   */
  private schedule(): void {
    if (this.scheduled || this.inFlight || this.gathering.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.send();
    });
  }

  private async send(): Promise<void> {
    const batch = this.gathering.splice(0, this.maxBatch);
    this.inFlight = true;
    try {
      await this.answer(batch);
    } catch (error) {
      // Every request of a failed batch gets its error (already answered ones ignore it).
      for (const waiter of batch) waiter.reject(error);
    } finally {
      this.inFlight = false;
      this.schedule();
    }
  }

  private async answer(batch: readonly Waiter[]): Promise<void> {
    const cache = this.cache;
    const checked = new Map<string, Cached>();
    const toRead = new Set<string>();
    for (const waiter of batch) {
      const entry = waiter.render && cache?.get(waiter.key);
      if (entry) checked.set(waiter.key, entry);
      else toRead.add(waiter.key);
    }
    // The check of cached views and the read of the others go at once; views found stale are read next.
    const [inputs, read] = await Promise.all([
      checked.size > 0 ? this.statements.check([...checked.keys()]) : new Map<string, ViewInputs>(),
      toRead.size > 0 ? this.statements.read([...toRead]) : new Map<string, ReadView>(),
    ]);
    const stale = [...checked].filter(([key, entry]) => {
      const now = inputs.get(key);
      if (now && sameInputs(now, entry.inputs)) return false;
      checked.delete(key);
      cache?.delete(key);
      return now !== undefined;
    });
    if (stale.length > 0) {
      for (const [key, fresh] of await this.statements.read(stale.map(([key]) => key))) read.set(key, fresh);
    }

    const rendered = new Map<string, RenderedView>();
    const given = new Set<string>();
    for (const waiter of batch) {
      const hit = checked.get(waiter.key);
      if (hit) {
        waiter.resolve({ version: hit.inputs.version, text: hit.text });
        continue;
      }
      const fresh = read.get(waiter.key);
      if (!fresh) {
        waiter.resolve(null);
        continue;
      }
      if (!waiter.render) {
        // Each caller gets an object of its own, as a read of its own would give.
        waiter.resolve(given.has(waiter.key) ? structuredClone(fresh.view) : fresh.view);
        given.add(waiter.key);
        continue;
      }
      try {
        let view = rendered.get(waiter.key);
        if (!view) {
          view = { version: fresh.view.version, text: waiter.render(fresh.view) };
          rendered.set(waiter.key, view);
          cache?.set(waiter.key, { inputs: fresh.inputs, text: view.text });
        }
        waiter.resolve(view);
      } catch (error) {
        waiter.reject(error);
      }
    }
  }
}
