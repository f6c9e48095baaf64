// The load generator of the overload benchmark, in a process of its own (forked by
// overload.bench.ts). Each client loops create → submit → approve → apply on a fresh change-set,
// like lifecycle-clients.ts, but as a well-behaved client: a 503 or 429 is retried after its
// Retry-After, with the same Idempotency-Key. Per step it records the time of each answer (by
// status) and the time until the step succeeded, retries included — what a user waits.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { type Credentials, changeSetBody } from './lib/fixture.js';
import { latencySummary } from './lib/results.js';

export interface OverloadStart {
  type: 'start';
  url: string;
  clients: Credentials[];
  warmupMs: number;
  measureMs: number;
  tag: string;
}

export interface OverloadResult {
  type: 'result';
  window_ms: number;
  /** Steps that succeeded in the window. */
  steps: number;
  /** Answers in the window by status (and code for refusals). */
  answers: Record<string, number>;
  /** Latency of single answers: successes, and 503 OVERLOADED / UNAVAILABLE answers. */
  success_ms: ReturnType<typeof latencySummary>;
  shed_ms: ReturnType<typeof latencySummary>;
  /** From a step's first attempt to its success, retries and their waits included. */
  step_ms: ReturnType<typeof latencySummary>;
  error_samples: string[];
}

interface Answer {
  status: number;
  code: string;
  retryAfterS: number | null;
  body: unknown;
}

function send(agent: http.Agent, url: URL, method: string, path: string, token: string, body: unknown, key: string) {
  const payload = JSON.stringify(body);
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'idempotency-key': key,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          let parsed: { code?: string } | null = null;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string };
          } catch {
            // not JSON
          }
          const retryAfter = Number(res.headers['retry-after']);
          resolve({
            status: res.statusCode ?? 0,
            code: parsed?.code ?? '',
            retryAfterS: Number.isFinite(retryAfter) ? retryAfter : null,
            body: parsed,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(start: OverloadStart): Promise<OverloadResult> {
  const url = new URL(start.url);
  const began = performance.now();
  const windowStart = began + start.warmupMs;
  const windowEnd = windowStart + start.measureMs;
  const inWindow = (t: number) => t >= windowStart && t <= windowEnd;
  let stopping = false;
  let steps = 0;
  const answers: Record<string, number> = {};
  const successMs: number[] = [];
  const shedMs: number[] = [];
  const stepMs: number[] = [];
  const samples: string[] = [];
  const startTimer = setTimeout(() => process.send?.({ type: 'window-start' }), start.warmupMs);
  const endTimer = setTimeout(() => {
    stopping = true;
    process.send?.({ type: 'window-end' });
  }, start.warmupMs + start.measureMs);

  /** One step until it succeeds (retrying what the server asks to be retried); null if refused. */
  async function step(agent: http.Agent, path: string, token: string, body: unknown, expected: number) {
    const key = randomUUID();
    const first = performance.now();
    for (;;) {
      const t0 = performance.now();
      const answer = await send(agent, url, 'POST', path, token, body, key);
      const t1 = performance.now();
      const label = answer.status < 300 ? String(answer.status) : `${answer.status} ${answer.code}`;
      if (inWindow(t1)) answers[label] = (answers[label] ?? 0) + 1;
      if (answer.status === expected) {
        if (inWindow(t1)) {
          steps++;
          successMs.push(t1 - t0);
          stepMs.push(t1 - first);
        }
        return answer.body as { id: string };
      }
      if (answer.status === 503 || answer.status === 429) {
        if (inWindow(t1)) shedMs.push(t1 - t0);
        if (stopping) return null;
        // Retry-After, with jitter so that the shed clients do not come back in one wave.
        await sleep((answer.retryAfterS ?? 1) * (0.5 + Math.random()) * 1000);
        continue;
      }
      if (samples.length < 5) samples.push(`${path}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      return null;
    }
  }

  async function loop(index: number, who: Credentials): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const base = '/api/ledger/changesets';
    try {
      for (let n = 1; !stopping; n++) {
        const created = await step(
          agent,
          base,
          who.agentToken,
          changeSetBody(`${start.tag}-${index}-${n}`, who.approver, 5),
          201,
        );
        if (!created || stopping) continue;
        const path = `${base}/${created.id}`;
        if (!(await step(agent, `${path}/submit`, who.agentToken, {}, 200)) || stopping) continue;
        const decision = { decision: 'APPROVED', reason: 'benchmark' };
        if (!(await step(agent, `${path}/approve`, who.approverToken, decision, 200)) || stopping) continue;
        await step(agent, `${path}/apply`, who.agentToken, { mode: 'ATOMIC' }, 200);
      }
    } finally {
      agent.destroy();
    }
  }

  await Promise.all(start.clients.map((who, index) => loop(index, who)));
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  return {
    type: 'result',
    window_ms: start.measureMs,
    steps,
    answers,
    success_ms: latencySummary(successMs),
    shed_ms: latencySummary(shedMs),
    step_ms: latencySummary(stepMs),
    error_samples: samples,
  };
}

process.once('message', (message: OverloadStart) => {
  run(message).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
