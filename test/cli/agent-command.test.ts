// `changeledger agent track-record <id>` against a real server: the table per window, the
// breakdowns, the trust line, --json, and a refusal (another agent) as exit status 1.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';
import { run } from '../helpers/run-cli.js';

describeEachBackend('cli agent track-record', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let url: string;
  const tokens: Record<string, string> = {};
  const as = (who: string, ...args: string[]) => run([...args, '--url', url, '--token', tokens[who]!]);

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    for (const id of ['Agent-A', 'Agent-B', 'alice']) tokens[id] = (await f.engine.issueToken(null, id)).token;
    for (let i = 0; i < 2; i++) {
      const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
      await f.engine.apply(f.p['Agent-A']!, cs.id);
    }
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  it('prints the record per window, per category and target type, and the trust', async () => {
    const result = await as('alice', 'agent', 'track-record', 'Agent-A');
    expect(result.code).toBe(0);
    expect(result.out).toContain(
      'trust: 0: 2 applied, 0 rolled back or failed in 30 days; credit from 20 clean applies (mode shadow)',
    );
    expect(result.out).toMatch(/^all\s+2\s+2\s+0\s+0 \(0 veto\)\s+2\s+0\s+0\s+0\s+0\.0%\s+-$/m);
    expect(result.out).toMatch(/^UI_LAYOUT\s+2\s+2\s/m);
    expect(result.out).toMatch(/^UI_COMPONENT\s+2\s+2\s/m);
  });

  it('prints the API answer with --json', async () => {
    const result = await as('Agent-A', 'agent', 'track-record', 'Agent-A', '--json');
    expect(JSON.parse(result.out)).toMatchObject({ agent_id: 'Agent-A', overall: { all: { applied: 2 } } });
  });

  it('exits 1 with the refusal when another agent asks', async () => {
    const result = await as('Agent-B', 'agent', 'track-record', 'Agent-A');
    expect(result.code).toBe(1);
    expect(result.err).toContain('may not read the track record of Agent-A');
  });
});
