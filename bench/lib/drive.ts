// Drives the lifecycle load generator (bench/lifecycle-clients.ts, a process of its own) against one
// or more server URLs and measures the window it reports: the clients' result, the CPU of this
// process, of the clients, of the given server processes and of PostgreSQL (all of it and the bench
// database's backends), and what the database's backends were doing. Used by lifecycle.bench.ts
// (the server in this process) and scale-out.bench.ts (servers in processes of their own).
import { fork } from 'node:child_process';
import type { ClientsResult, ClientsStart } from '../lifecycle-clients.js';
import { type CpuSnapshot, cpuBetween, cpuSnapshot } from './cpu.js';
import type { FreshDatabase } from './database.js';
import { type ActivitySummary, sampleActivity } from './pg-activity.js';

export interface Driven {
  result: ClientsResult;
  /** process.hrtime in µs, the clock CPU profiles use, so that a profile can be cut to the window. */
  window_monotonic_us: { from: number; to: number };
  activity: ActivitySummary | null;
  cpu: ReturnType<typeof cpuBetween> | null;
  clients_pid: number;
}

export async function driveLifecycle(
  start: Omit<ClientsStart, 'type'>,
  watch: { fresh: FreshDatabase | null; serverPids?: readonly number[] },
): Promise<Driven> {
  const { fresh } = watch;
  const child = fork(new URL('../lifecycle-clients.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid!;
  const pids = [pid, ...(watch.serverPids ?? [])];
  let windowStart: CpuSnapshot | null = null;
  let cpu: ReturnType<typeof cpuBetween> | null = null;
  let sampler: Awaited<ReturnType<typeof sampleActivity>> | null = null;
  let activity: Promise<ActivitySummary> | null = null;
  const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
  const window = { from: 0, to: 0 };
  const result = await new Promise<ClientsResult>((resolve, reject) => {
    child.on('message', (message: { type: string }) => {
      if (message.type === 'window-start') {
        window.from = monotonicUs();
        windowStart = cpuSnapshot(pids, fresh?.name);
        if (fresh) void sampleActivity(fresh.url, fresh.name).then((s) => (sampler = s));
      } else if (message.type === 'window-end' && windowStart) {
        window.to = monotonicUs();
        cpu = cpuBetween(windowStart, cpuSnapshot(pids, fresh?.name));
        activity = (sampler as typeof sampler)?.stop() ?? null;
      } else if (message.type === 'result') resolve(message as ClientsResult);
    });
    child.on('exit', (code) => reject(new Error(`the clients exited with ${code} before reporting`)));
    child.send({ type: 'start', ...start } satisfies ClientsStart);
  });
  return {
    result,
    window_monotonic_us: window,
    activity: activity ? await (activity as Promise<ActivitySummary>) : null,
    cpu,
    clients_pid: pid,
  };
}
