// A condition that does not compile stops the start (docs/design.md#policies): the loader names the policy and
// gives the compiler's message, and neither `startServer` nor `changeledger serve` starts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { type Config, ConfigError, DEFAULT_CONFIG, loadConfig, parseConfig } from '../../src/config.js';
import { compilePolicy, PolicyCompileError } from '../../src/core/policy.js';
import { startServer } from '../../src/server.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'changeledger-policies-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const valid = '  - name: weekend-freeze\n    condition: now.getDayOfWeek() in [6, 0]\n    effect: deny\n';
const withBroken = (condition: string) =>
  `policies:\n${valid}  - name: broken-freeze\n    condition: ${JSON.stringify(condition)}\n    effect: deny\n`;

/** What the compiler says about the condition, through core (the loader must repeat it). */
function compilerMessage(condition: string): string {
  try {
    compilePolicy({ name: 'broken-freeze', condition, effect: 'deny' });
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyCompileError);
    return (error as Error).message;
  }
  throw new Error(`${condition} compiles`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = request({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, () => resolve(true));
    probe.on('error', () => resolve(false));
    probe.end();
  });

describe('a policy that does not compile', () => {
  it.each([
    ['a syntax error', 'now.getDayOfWeek( == 5', /^policy broken-freeze does not compile: \S/],
    ['an unknown variable', 'changeset.category == "SECURITY"', /^policy broken-freeze does not compile: \S/],
    ['a type error', 'size(items) + "x" == 2', /no such overload: int \+ string/],
    ['a result that is not a boolean', 'size(items)', /the condition must be a boolean expression, not int$/],
  ])('stops the loader on %s, naming the policy and the compiler’s message', (_what, condition, expected) => {
    const message = compilerMessage(condition);
    expect(message).toMatch(expected);
    expect(() => parseConfig(withBroken(condition), { env: {} })).toThrow(ConfigError);
    try {
      parseConfig(withBroken(condition), { env: {} });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        `configuration error in <string> at policies[1].condition: ${message}`,
      ]);
    }
  });

  it('stops loadConfig with the file, the path and the policy', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, withBroken('items.exists(i,'));
    expect(() => loadConfig({ path: file, env: {} })).toThrow(
      `configuration error in ${file} at policies[1].condition: ${compilerMessage('items.exists(i,')}`,
    );
  });

  it('stops startServer before it listens', async () => {
    const port = await freePort();
    const config = {
      ...DEFAULT_CONFIG,
      server: { ...DEFAULT_CONFIG.server, port },
      database: { ...DEFAULT_CONFIG.database, url: null, data_dir: join(dir, 'server-data') },
      policies: [{ name: 'broken-freeze', condition: 'items.exists(i,', effect: 'deny' }],
    } as Config;
    await expect(startServer(config)).rejects.toThrow(compilerMessage('items.exists(i,'));
    expect(await listening(port)).toBe(false);
  });

  it('makes `changeledger serve` exit 1 with the message', async () => {
    const port = await freePort();
    const file = join(dir, 'serve.yaml');
    await writeFile(
      file,
      `server:\n  port: ${port}\ndatabase:\n  data_dir: ${JSON.stringify(join(dir, 'serve-data'))}\n${withBroken('size(items)')}`,
    );
    const errors: string[] = [];
    const error = vi
      .spyOn(console, 'error')
      .mockImplementation((...parts: unknown[]) => void errors.push(parts.join(' ')));
    try {
      expect(await runCli(['--config', file, 'serve'])).toBe(1);
    } finally {
      error.mockRestore();
    }
    expect(errors.join('\n')).toBe(
      `changeledger: configuration error in ${file} at policies[1].condition: ${compilerMessage('size(items)')}`,
    );
    expect(await listening(port)).toBe(false);
  });
});
