// One server instance of the scale-out benchmark, in a process of its own: an Engine on a
// PostgreSQL pool and buildApp + listen on 127.0.0.1 (logger off, no dispatcher or event feed), as
// lifecycle.bench.ts runs its server. Forked by scale-out.bench.ts with argv: the database URL
// (already migrated) and the pool size. Sends { type: 'ready', url } over IPC; closes on 'stop'.
import { Engine } from '../src/engine/engine.js';
import { buildApp } from '../src/http/app.js';
import { openPgDb } from '../src/store/pg-db.js';
import { benchEngineConfig } from './lib/fixture.js';

const [url, pool] = [process.argv[2]!, Number(process.argv[3] ?? 10)];

async function main(): Promise<void> {
  const db = await openPgDb({ connectionString: url, max: pool });
  const engine = new Engine({ db, config: benchEngineConfig() });
  const app = await buildApp({ engine, logger: false });
  const listening = await app.listen({ host: '127.0.0.1', port: 0 });
  process.once('message', () => {
    void app
      .close()
      .then(() => db.close())
      .finally(() => process.exit(0));
  });
  process.send?.({ type: 'ready', url: listening });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
