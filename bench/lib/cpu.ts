// CPU accounting over a measured window (Linux /proc): this process, another process, every
// PostgreSQL backend on the machine, and the whole machine. It tells where a window's CPU went:
// the Node server, the load generator, PostgreSQL, or something else on a shared machine.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // getconf missing: Linux's usual 100 Hz
}

/** utime + stime of a process in ms, or null when it is gone or /proc is unavailable. */
export function processCpuMs(pid: number | string): { ms: number; comm: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { ms: (ticks * 1000) / ticksPerSecond, comm };
  } catch {
    return null;
  }
}

/** Backends of one database carry its name in their process title (postgres: user db host state). */
function cmdlineOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Time a process has run on a CPU, in ns (schedstat: precise, unlike the 10 ms ticks of stat). */
export function onCpuNs(pid: number | string): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/** The pids of the PostgreSQL backends connected to a database. */
export function databaseBackends(database: string): string[] {
  return [...postgresCpuMs().keys()].filter((pid) => cmdlineOf(pid).includes(` ${database} `));
}

/** On-CPU time of each thread of this process, in ms, by thread id (schedstat, precise). */
function threadCpuMs(): Map<string, number> {
  const result = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return result;
  }
  for (const tid of tids) {
    const ns = onCpuNs(`self/task/${tid}`);
    if (ns !== null) result.set(tid, ns / 1e6);
  }
  return result;
}

function postgresCpuMs(): Map<string, number> {
  const result = new Map<string, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return result;
  }
  for (const pid of entries) {
    const cpu = processCpuMs(pid);
    if (cpu?.comm.startsWith('postgres')) result.set(pid, cpu.ms);
  }
  return result;
}

function machineCpuMs(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: ((total - idle) * 1000) / ticksPerSecond, total: (total * 1000) / ticksPerSecond };
  } catch {
    return null;
  }
}

export interface CpuSnapshot {
  at: number;
  self: number;
  other: Map<number, number>;
  postgres: Map<string, number>;
  /** Only the backends connected to the benchmark's database. */
  database: Map<string, number>;
  machine: { busy: number; total: number } | null;
  /** This process's threads: the main thread's id is the pid. */
  threads: Map<string, number>;
}

export function cpuSnapshot(otherPids: readonly number[] = [], database?: string): CpuSnapshot {
  const usage = process.cpuUsage();
  const postgres = postgresCpuMs();
  return {
    at: performance.now(),
    self: (usage.user + usage.system) / 1000,
    other: new Map(otherPids.map((pid) => [pid, processCpuMs(pid)?.ms ?? 0])),
    postgres,
    database: database ? new Map([...postgres].filter(([pid]) => cmdlineOf(pid).includes(` ${database} `))) : new Map(),
    machine: machineCpuMs(),
    threads: threadCpuMs(),
  };
}

/** CPU used between two snapshots, in cores (1.0 = one core busy the whole window). */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot) {
  const wall = b.at - a.at;
  const cores = (ms: number) => Math.round((ms / wall) * 100) / 100;
  const used = (before: Map<string, number>, after: Map<string, number>) => {
    let ms = 0;
    for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
    return ms;
  };
  const postgres = used(a.postgres, b.postgres);
  const other = Object.fromEntries([...b.other].map(([pid, ms]) => [pid, cores(ms - (a.other.get(pid) ?? 0))]));
  const machine =
    a.machine && b.machine
      ? {
          busy_cores: cores(b.machine.busy - a.machine.busy),
          cores_available: Math.round(((b.machine.total - a.machine.total) / wall) * 10) / 10,
        }
      : null;
  // The main thread serves HTTP; the busiest other thread is the embedded database's worker when
  // there is one (threads are all named "node"; the others are V8's and libuv's helpers).
  const main = String(process.pid);
  const threadMs = [...b.threads]
    .filter(([tid]) => tid !== main)
    .map(([tid, ms]) => ms - (a.threads.get(tid) ?? 0))
    .sort((x, y) => y - x);
  const threads = {
    main_cores: cores((b.threads.get(main) ?? 0) - (a.threads.get(main) ?? 0)),
    busiest_other_cores: cores(threadMs[0] ?? 0),
    rest_cores: cores(threadMs.slice(1).reduce((x, y) => x + y, 0)),
  };
  return {
    wall_ms: Math.round(wall),
    self_cores: cores(b.self - a.self),
    threads,
    other_cores: other,
    postgres_cores: cores(postgres),
    postgres_database_cores: b.database.size > 0 ? cores(used(a.database, b.database)) : null,
    machine,
  };
}
