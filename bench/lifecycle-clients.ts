// The load generator of the lifecycle benchmark, in a process of its own (forked by
// lifecycle.bench.ts) so that it does not share the server's event loop. Each client loops
// create → submit → approve → apply on a fresh change-set; steps that finish inside the measured
// window (after the warm-up) are counted. With several server URLs (scale-out.bench.ts) the clients
// are dealt round-robin: client i talks to urls[i % urls.length], on one kept-alive connection.
// Messages: start in; window-start, window-end, result out.
import { performance } from 'node:perf_hooks';
import { type Credentials, changeSetBody } from './lib/fixture.js';
import { JsonClient, type JsonResponse } from './lib/http-json.js';
import { latencySummary } from './lib/results.js';

export interface ClientsStart {
  type: 'start';
  /** One server, or several: client i uses urls[i % urls.length]. */
  urls: readonly string[];
  clients: Credentials[];
  warmupMs: number;
  measureMs: number;
  items: number;
  tag: string;
}

export interface ClientsResult {
  type: 'result';
  window_ms: number;
  steps: number;
  lifecycles: number;
  errors: number;
  error_samples: string[];
  latency_ms: Record<string, ReturnType<typeof latencySummary>>;
}

const STEPS = ['create', 'submit', 'approve', 'apply'] as const;
type Step = (typeof STEPS)[number];

async function run(start: ClientsStart): Promise<ClientsResult> {
  const began = performance.now();
  const windowStart = began + start.warmupMs;
  const windowEnd = windowStart + start.measureMs;
  let stopping = false;
  let steps = 0;
  let lifecycles = 0;
  let errors = 0;
  const samples: string[] = [];
  const latency: Record<Step, number[]> = { create: [], submit: [], approve: [], apply: [] };

  const startTimer = setTimeout(() => {
    process.send?.({ type: 'window-start' });
  }, start.warmupMs);
  const endTimer = setTimeout(() => {
    stopping = true;
    process.send?.({ type: 'window-end' });
  }, start.warmupMs + start.measureMs);

  async function step(name: Step, expected: number, call: () => Promise<JsonResponse>): Promise<unknown> {
    const t0 = performance.now();
    const response = await call();
    const t1 = performance.now();
    const inWindow = t1 >= windowStart && t1 <= windowEnd;
    if (response.status !== expected) {
      if (inWindow || t1 < windowStart) errors++;
      if (samples.length < 5)
        samples.push(`${name}: ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`);
      return null;
    }
    if (inWindow) {
      steps++;
      latency[name].push(t1 - t0);
      if (name === 'apply') lifecycles++;
    }
    return response.body;
  }

  async function loop(index: number, who: Credentials): Promise<void> {
    const http = new JsonClient(start.urls[index % start.urls.length]!);
    const base = '/api/ledger/changesets';
    try {
      for (let n = 1; !stopping; n++) {
        const id = `${start.tag}-${index}-${n}`;
        const created = (await step('create', 201, () =>
          http.request('POST', base, who.agentToken, changeSetBody(id, who.approver, start.items)),
        )) as { id: string } | null;
        if (!created || stopping) continue;
        const path = `${base}/${created.id}`;
        if (!(await step('submit', 200, () => http.request('POST', `${path}/submit`, who.agentToken, {}))) || stopping)
          continue;
        const decision = { decision: 'APPROVED', reason: 'benchmark' };
        if (
          !(await step('approve', 200, () => http.request('POST', `${path}/approve`, who.approverToken, decision))) ||
          stopping
        )
          continue;
        await step('apply', 200, () => http.request('POST', `${path}/apply`, who.agentToken, { mode: 'ATOMIC' }));
      }
    } finally {
      http.close();
    }
  }

  await Promise.all(start.clients.map((who, index) => loop(index, who)));
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  return {
    type: 'result',
    window_ms: start.measureMs,
    steps,
    lifecycles,
    errors,
    error_samples: samples,
    latency_ms: Object.fromEntries(STEPS.map((name) => [name, latencySummary(latency[name])])),
  };
}

process.once('message', (message: ClientsStart) => {
  run(message).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
