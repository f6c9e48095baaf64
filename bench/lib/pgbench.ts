// The commit rate this machine allows: pgbench -N (TPC-B without the contended branch and teller
// updates) with the same client count, on the same server, in a scratch database of its own. The
// CPU its backends and pgbench itself use is sampled too, for a per-transaction cost.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { databaseBackends, onCpuNs } from './cpu.js';
import { createDatabase } from './database.js';
import { round } from './results.js';

const run = promisify(execFile);

export interface PgbenchResult {
  command: string;
  clients: number;
  threads: number;
  seconds: number;
  tps: number;
  latency_average_ms: number | null;
  transactions: number | null;
  /** CPU per transaction, sampled every 100 ms (the last ≤ 100 ms of each process is missed). */
  cpu_ms_per_transaction: { postgres_backends: number; pgbench: number } | null;
}

/** Sums the on-CPU time of processes while they live, keeping each one's last reading. */
function cpuSampler(pids: () => (number | string)[]) {
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  let known: (number | string)[] = [];
  let ticks = 0;
  const sample = () => {
    // Listing the processes is the costly part: once a second is enough to see new ones.
    if (ticks++ % 10 === 0) known = pids();
    for (const pid of known) {
      const ns = onCpuNs(pid);
      if (ns === null) continue;
      if (!first.has(String(pid))) first.set(String(pid), ns);
      last.set(String(pid), ns);
    }
  };
  const timer = setInterval(sample, 100);
  return {
    stopMs(): number {
      clearInterval(timer);
      let ns = 0;
      for (const [pid, value] of last) ns += value - (first.get(pid) ?? value);
      return ns / 1e6;
    },
  };
}

export async function runPgbench(clients: number, seconds: number): Promise<PgbenchResult> {
  const scratch = await createDatabase('pgbench');
  try {
    await run('pgbench', ['-i', '-q', scratch.url], { maxBuffer: 16 * 2 ** 20 });
    const threads = Math.min(2, clients);
    const args = ['-N', '-c', String(clients), '-j', String(threads), '-T', String(seconds), '-n', scratch.url];
    const running = run('pgbench', args, { maxBuffer: 16 * 2 ** 20 });
    const backends = cpuSampler(() => databaseBackends(scratch.name));
    const self = cpuSampler(() => (running.child.pid ? [running.child.pid] : []));
    const { stdout } = await running;
    const backendMs = backends.stopMs();
    const pgbenchMs = self.stopMs();
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
    if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
    const latency = /latency average = ([\d.]+) ms/.exec(stdout);
    const processed = /number of transactions actually processed: (\d+)/.exec(stdout);
    const transactions = processed ? Number(processed[1]) : null;
    return {
      command: `pgbench -N -c ${clients} -j ${threads} -T ${seconds} -n <scratch database>`,
      clients,
      threads,
      seconds,
      tps: round(Number(tps[1]), 1),
      latency_average_ms: latency ? Number(latency[1]) : null,
      transactions,
      cpu_ms_per_transaction: transactions
        ? { postgres_backends: round(backendMs / transactions, 4), pgbench: round(pgbenchMs / transactions, 4) }
        : null,
    };
  } finally {
    await scratch.drop();
  }
}
