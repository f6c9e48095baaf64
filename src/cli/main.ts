// The `changeledger` command. The HTTP server and the client commands arrive with the API.
import { migrate } from '../store/migrator.js';
import { openPgDb } from '../store/pg-db.js';
import { openPgliteDb } from '../store/pglite-db.js';

async function openDatabase() {
  const url = process.env['DATABASE_URL'];
  if (url) return openPgDb({ connectionString: url });
  return openPgliteDb({ dataDir: `${process.env['CHANGELEDGER_DATA_DIR'] ?? './.changeledger'}/db` });
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === 'migrate' || command === 'serve') {
    const db = await openDatabase();
    try {
      const result = await migrate(db);
      console.log(
        `database schema at version ${result.current} (${result.applied.length} migration(s) applied, ${db.kind})`,
      );
    } finally {
      await db.close();
    }
    if (command === 'serve') {
      console.log('changeledger: the engine and its database are ready; the HTTP server comes next (issue [api]).');
    }
    return 0;
  }
  console.log('usage: changeledger serve | migrate');
  return command ? 2 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`changeledger: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
