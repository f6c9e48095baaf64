// The README's five-minute tour, run exactly as written against a freshly started server on the
// embedded database (the zero-configuration start the tour is about), so the README stays true.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callApi, cleanUp, expectCleanStop, REPO_ROOT, startServer } from './helpers.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** Every ```sh block between `<!-- tour:start -->` and `<!-- tour:end -->`, in order. */
function tourBlocks(readme: string): string[] {
  const start = readme.indexOf('<!-- tour:start -->');
  const end = readme.indexOf('<!-- tour:end -->');
  if (start < 0 || end < start) throw new Error('README.md has no <!-- tour:start --> … <!-- tour:end --> section');
  return [...readme.slice(start, end).matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

function runBash(script: string, options: { cwd: string; env: NodeJS.ProcessEnv }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    // A bound on a hang: the tour starts the CLI a dozen times, which took over 30 s on a busy machine.
    execFile('bash', [script], { ...options, timeout: 150_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the README tour [pglite]', () => {
  afterAll(cleanUp);

  it('is what `npm start` runs', () => {
    const { scripts } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(scripts.start).toBe('node bin/changeledger.js serve');
  });

  it('runs end to end against a freshly started server, with the outcomes it describes', async () => {
    const blocks = tourBlocks(README);
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    const server = await startServer();
    const script = join(server.cwd, 'tour.sh');
    writeFileSync(script, ['set -euo pipefail', ...blocks].join('\n'));
    const port = new URL(server.url).port;
    const run = await runBash(script, {
      cwd: server.cwd,
      env: { ...process.env, PORT: port, CHANGELEDGER_DATA_DIR: server.dataDir },
    });
    const report = `exit ${run.code}\n--- stdout ---\n${run.stdout}--- stderr ---\n${run.stderr}--- server ---\n${server.output()}`;
    expect(run.code, report).toBe(0);
    expect(run.stdout.trimEnd().split('\n'), report).toEqual([
      // The button: risk 6, auto-approved, applied at once by its agent.
      'APPROVED risk 6',
      'APPLIED',
      // The firewall policy: never auto-approved, approved by the security lead, applied.
      'DRAFT',
      'PENDING_APPROVAL',
      'APPROVED',
      'APPLIED',
      // Deleting it: MEDIUM 48, one approval, planned, applied, rolled back.
      'MEDIUM 48',
      'PENDING_APPROVAL',
      'APPROVED',
      'WOULD_APPLY',
      'APPLIED',
      '1',
      // Its history: every version and the change-set that made it.
      '1 CREATE CS-2026-0002',
      '2 DELETE CS-2026-0003',
      '3 ROLLBACK CS-2026-0003',
      // The audit trail verifies.
      'true',
    ]);

    // "the policy is back"
    const policy = await callApi(server.url, 'GET', '/resources/SECURITY_POLICY/security.firewall', server.adminToken);
    expect(policy.body).toMatchObject({ state: { allow: ['443/tcp'] } });
    await expectCleanStop(server);
  });
});
