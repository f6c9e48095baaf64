// The real message brokers on this machine (NATS with JetStream, RabbitMQ): whether they answer,
// how to restart them, and the same rule as for PostgreSQL: under CHANGELEDGER_TEST_STRICT=1 a
// missing broker fails the run, otherwise its tests are skipped with a line that says why.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { STRICT } from './backends.js';

const run = promisify(execFile);

export const NATS_URL = process.env['CHANGELEDGER_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';
export const AMQP_URL = process.env['CHANGELEDGER_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A name no other test run uses (streams, subjects, exchanges, queues). */
export const runName = (prefix: string): string => `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;

/** Whether something accepts TCP connections at the URL's host and port. */
export function answers(url: string, timeoutMs = 2_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: hostname, port: Number(port), timeout: timeoutMs });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Declares `body` when the broker answers; otherwise a failure under strict mode, or a clear skip. */
export function describeWithBroker(title: string, broker: string, up: boolean, body: () => void): void {
  if (up) describe(title, body);
  else if (STRICT) {
    describe(title, () => {
      it(`needs ${broker} (CHANGELEDGER_TEST_STRICT=1 forbids skipping it)`, () => {
        throw new Error(`${broker} does not answer, and CHANGELEDGER_TEST_STRICT=1 forbids skipping its tests`);
      });
    });
  } else {
    describe.skipIf(true)(`${title} — skipped: ${broker} does not answer`, () => {
      it(`runs against ${broker}`, () => {});
    });
  }
}

/** Stops the local NATS server (and waits for it to exit) — the server .ci/run starts. */
export async function stopNats(): Promise<void> {
  await run('start-stop-daemon', ['--stop', '--retry', '10', '--exec', '/usr/sbin/nats-server']);
  await waitUntil('NATS stopped', async () => !(await answers(NATS_URL, 500)));
}

export async function startNats(): Promise<void> {
  await run('start-stop-daemon', [
    '--start',
    '--oknodo',
    '--background',
    '--exec',
    '/usr/sbin/nats-server',
    '--',
    ...['-a', '127.0.0.1', '-p', '4222', '-js', '-sd', '/var/lib/nats-server', '-l', '/var/log/nats-server.log'],
  ]);
  await waitUntil('NATS started', () => answers(NATS_URL, 500));
}

/** Stops RabbitMQ's application (the Erlang node stays up, so starting it again is quick and sure). */
export async function stopRabbit(): Promise<void> {
  await run('rabbitmqctl', ['stop_app'], { timeout: 120_000 });
  await waitUntil('RabbitMQ stopped', async () => !(await answers(AMQP_URL, 500)));
}

export async function startRabbit(): Promise<void> {
  await run('rabbitmqctl', ['start_app'], { timeout: 120_000 });
  await waitUntil('RabbitMQ started', () => answers(AMQP_URL, 500), 120_000);
}
