// What the benchmark's PostgreSQL backends are doing, sampled from pg_stat_activity during the
// measured window: running, waiting on a lock or on WAL, or idle waiting for the Node process to
// send the next statement ("idle in transaction") or the next transaction ("idle").
import pg from 'pg';
import { round } from './results.js';

export interface ActivitySummary {
  interval_ms: number;
  samples: number;
  mean_backends: number;
  /** Share of backend-samples by what the backend was doing, most frequent first. */
  share: Record<string, number>;
}

function category(row: { state: string | null; wait_event_type: string | null; wait_event: string | null }): string {
  if (row.state === 'idle') return 'idle (no transaction)';
  if (row.state === 'idle in transaction') return 'idle in transaction (waiting for the client)';
  if (row.state === 'active')
    return row.wait_event ? `active, waiting ${row.wait_event_type}:${row.wait_event}` : 'active, running';
  return row.state ?? 'unknown';
}

export async function sampleActivity(url: string, database: string, intervalMs = 25) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const counts = new Map<string, number>();
  let samples = 0;
  let backendSamples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await client.query(
        `SELECT state, wait_event_type, wait_event FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        [database],
      );
      samples++;
      backendSamples += rows.length;
      for (const row of rows) counts.set(category(row), (counts.get(category(row)) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop(): Promise<ActivitySummary> {
      stopped = true;
      await loop;
      await client.end();
      const share = Object.fromEntries(
        [...counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([name, n]) => [name, round(n / Math.max(1, backendSamples), 3)]),
      );
      return {
        interval_ms: intervalMs,
        samples,
        mean_backends: round(backendSamples / Math.max(1, samples), 1),
        share,
      };
    },
  };
}
