// Statements on PGlite as named prepared statements, as the PostgreSQL adapter sends them
// (pg-db.ts): PGlite's own query() parses, describes and plans the text again on every call, in six
// calls into its WebAssembly. Here a text is parsed and described once (Parse + Describe + Sync);
// each call is then one message, Bind + Execute + Sync, run on a plan PostgreSQL keeps for the
// statement. Values are serialised and rows parsed by PGlite's own serialisers and parsers (the same
// typed results as query()), and errors are PGlite's own DatabaseError with their fields.
import { type messages, type PGlite, parse, protocol, type Transaction } from '@electric-sql/pglite';

type Statement = { name: string; paramTypes: number[]; rowDescription: messages.BackendMessage | null };
type Target = PGlite | Transaction;

/** The store's statement texts are a bounded set; past this, texts run unnamed (PGlite's query()). */
const MAX_STATEMENTS = 1_000;

/**
 * "cached plan must not change result type": a statement prepared before a schema change (made by a
 * statement, not a script: see forgetAll) whose result columns the change altered. PostgreSQL
 * refuses it until it is prepared again.
 */
const FEATURE_NOT_SUPPORTED = '0A000';

const { serialize } = protocol;

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const message = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    message.set(part, offset);
    offset += part.length;
  }
  return message;
}

export interface PgliteResult<R> {
  rows: R[];
  rowCount: number;
}

export class PreparedStatements {
  private readonly statements = new Map<string, Statement>();
  private nextName = 0;

  constructor(private readonly pglite: PGlite) {}

  /**
   * Runs `text` with `params`. `tx` is the transaction the statement belongs to (PGlite's
   * transaction() callback holds the transaction lock then); without it the statement waits for
   * any transaction to end, as query() does, and the data directory is synced after it.
   */
  async query<R>(text: string, params: readonly unknown[] = [], tx?: Transaction): Promise<PgliteResult<R>> {
    const pglite = this.pglite;
    const statement = this.statements.get(text);
    if (!statement && this.statements.size >= MAX_STATEMENTS) return this.unnamed<R>(text, params, tx);
    if (tx) {
      if (tx.closed) throw new Error('Transaction is closed');
      return pglite.runExclusive(() => this.run<R>(text, params, true));
    }
    await pglite._checkReady();
    return pglite._runExclusiveTransaction(() => pglite.runExclusive(() => this.run<R>(text, params, false)));
  }

  /**
   * After a script (migrations: the only DDL the store runs), statements are prepared afresh, so
   * that one whose result columns changed is not refused. The ones prepared before stay in the
   * session unused: scripts run a few times in a process's life.
   */
  forgetAll(): void {
    this.statements.clear();
  }

  private async unnamed<R>(text: string, params: readonly unknown[], tx?: Target): Promise<PgliteResult<R>> {
    const result = await (tx ?? this.pglite).query<R>(text, params as unknown[]);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  }

  /** Holds PGlite's query lock (and outside a transaction its transaction lock). */
  private async run<R>(text: string, params: readonly unknown[], inTransaction: boolean): Promise<PgliteResult<R>> {
    let statement = this.statements.get(text) ?? (await this.prepare(text));
    let result: PgliteResult<R>;
    try {
      result = await this.execute<R>(statement, params);
    } catch (error) {
      if ((error as { code?: string }).code !== FEATURE_NOT_SUPPORTED) throw error;
      // Prepared again for the next call; inside a transaction the error has aborted it, so it
      // is the caller's to see (PostgreSQL would fail it the same way).
      await this.forget(text, statement);
      if (inTransaction) throw error;
      statement = await this.prepare(text);
      result = await this.execute<R>(statement, params);
    }
    if (!inTransaction) await this.pglite.syncToFs();
    return result;
  }

  private async prepare(text: string): Promise<Statement> {
    const name = `cl_${this.nextName++}`;
    const messages = await this.pglite.execProtocolStream(
      concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]),
      { syncToFs: false },
    );
    let paramTypes: number[] = [];
    let rowDescription: Statement['rowDescription'] = null;
    for (const message of messages) {
      if (message.name === 'parameterDescription')
        paramTypes = (message as messages.ParameterDescriptionMessage).dataTypeIDs;
      else if (message.name === 'rowDescription') rowDescription = message;
    }
    const statement = { name, paramTypes, rowDescription };
    this.statements.set(text, statement);
    return statement;
  }

  private async forget(text: string, statement: Statement): Promise<void> {
    this.statements.delete(text);
    await this.pglite.execProtocolStream(
      concat([serialize.close({ type: 'S', name: statement.name }), serialize.sync()]),
      {
        syncToFs: false,
      },
    );
  }

  private async execute<R>(statement: Statement, params: readonly unknown[]): Promise<PgliteResult<R>> {
    const { serializers, parsers } = this.pglite;
    const values = params.map((param, i) => {
      if (param === null || param === undefined) return null;
      const serializer = serializers[statement.paramTypes[i] as number];
      return serializer ? serializer(param) : String(param);
    });
    const messages = await this.pglite.execProtocolStream(
      concat([serialize.bind({ statement: statement.name, values }), serialize.execute(), serialize.sync()]),
      { syncToFs: false },
    );
    // Rows come without their description (described once, at Parse): it goes in front.
    const [result] = parse.parseResults(
      statement.rowDescription ? [statement.rowDescription, ...messages] : messages,
      parsers,
    );
    const rows = (result?.rows ?? []) as R[];
    return { rows, rowCount: result?.affectedRows ?? rows.length };
  }
}
