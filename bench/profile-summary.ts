// Where a CPU profile's time went: top functions by self time, and self time by area (a package in
// node_modules, a folder of src/, Node's internals, the garbage collector). Reads .cpuprofile files
// as `node --cpu-prof` writes them. Run: node --import tsx bench/profile-summary.ts FILE [TOP]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * The main thread's profile among those `--cpu-prof --cpu-prof-dir DIR` wrote. Each thread writes
 * its own (tsx's module hooks run on a thread of their own), named CPU.<date>.<time>.<pid>.<tid>.<seq>:
 * the main thread's tid is 0. (So never --cpu-prof-name: the threads would overwrite each other.)
 */
export function mainThreadProfile(dir: string): string | null {
  const file = readdirSync(dir).find((name) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(name));
  return file ? join(dir, file) : null;
}

function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const src = /\/(src|bench)\/(?:([^/]+)\/)?/.exec(url);
  if (src) return src[2] && !src[2].includes('.') ? `${src[1]}/${src[2]}` : src[1]!;
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

const short = (url: string) =>
  url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/').replace(/^node:/, 'node:');

/**
 * `window`: only samples inside [from, to], in µs of the monotonic clock the profile's startTime
 * uses (process.hrtime), e.g. the measured window a bench recorded.
 */
export function summariseProfile(path: string, top = 25, window?: { from: number; to: number }) {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.from || at > window.to)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const functions = new Map<string, { name: string; where: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const area = areaOf(url, name);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const key = `${name}@${url}:${lineNumber}`;
    const entry = functions.get(key) ?? { name, where: url ? `${short(url)}:${lineNumber + 1}` : '', area, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  // Native functions (no url) are charged to the nearest caller in a package or in src/.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const callerOf = (id: number): string => {
    for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (/node_modules|\/src\//.test(url)) return `${functionName || '(anonymous)'} ${short(url)}:${lineNumber + 1}`;
    }
    return '(none)';
  };
  const nativeCallers = new Map<string, Map<string, number>>();
  for (const [id, us] of selfUs) {
    const { functionName, url } = byId.get(id)!.callFrame;
    if (url || functionName.startsWith('(')) continue;
    const callers = nativeCallers.get(functionName) ?? new Map<string, number>();
    const caller = callerOf(id);
    callers.set(caller, (callers.get(caller) ?? 0) + us);
    nativeCallers.set(functionName, callers);
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    file: path,
    window: window ?? null,
    busy_ms: ms(total),
    idle_ms: ms(idle),
    top_functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ self_ms: ms(f.us), self_pct: pct(f.us), function: f.name, where: f.where, area: f.area })),
    native_callers: Object.fromEntries(
      [...functions.values()]
        .filter((f) => !f.where && !f.name.startsWith('('))
        .sort((a, b) => b.us - a.us)
        .slice(0, 4)
        .map((f) => [
          f.name,
          [...(nativeCallers.get(f.name) ?? new Map<string, number>())]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 5)
            .map(([caller, us]) => ({ caller, self_ms: ms(us), self_pct: pct(us) })),
        ]),
    ),
    by_area: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, us]) => ({ area, self_ms: ms(us), self_pct: pct(us) })),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').at(-1)!)) {
  const [file, top, from, to] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [TOP [FROM_US TO_US]]');
  const window = from && to ? { from: Number(from), to: Number(to) } : undefined;
  const summary = summariseProfile(file, Number(top ?? 25), window);
  console.log(`${file}: busy ${summary.busy_ms} ms, idle ${summary.idle_ms} ms`);
  console.log('top functions by self time:');
  for (const f of summary.top_functions)
    console.log(`  ${String(f.self_pct).padStart(5)}%  ${String(f.self_ms).padStart(8)} ms  ${f.function}  ${f.where}`);
  console.log('native functions, by nearest caller in a package or src/:');
  for (const [name, callers] of Object.entries(summary.native_callers)) {
    console.log(`  ${name}`);
    for (const c of callers)
      console.log(`    ${String(c.self_pct).padStart(5)}%  ${String(c.self_ms).padStart(8)} ms  ${c.caller}`);
  }
  console.log('self time by area:');
  for (const a of summary.by_area)
    console.log(`  ${String(a.self_pct).padStart(5)}%  ${String(a.self_ms).padStart(8)} ms  ${a.area}`);
}
