// The operator's command line keeps the API's rule on people's credentials: `principal add` gives a
// human no token, `token create` refuses one for a human (unless auth.admin_may_issue_human_tokens),
// and `enrolment create` is how a person gets theirs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/run-cli.js';

function configFile(extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'changeledger-cli-credentials-'));
  const path = join(dir, 'changeledger.yaml');
  writeFileSync(
    path,
    `database:\n  data_dir: ${join(dir, 'data')}\ndashboard_url: https://ledger.example.com\n${extra}`,
  );
  return path;
}

describe('the CLI and human credentials', () => {
  it('adds a person without a token, refuses them one, and enrols them instead', async () => {
    const config = configFile();
    const added = await run(['principal', 'add', 'lead', '--kind', 'human', '--json', '--config', config]);
    expect(added.code, added.err).toBe(0);
    expect(JSON.parse(added.out).token).toBeNull();
    const refused = await run(['token', 'create', 'lead', '--config', config]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('changeledger enrolment create lead');
    const enrolment = await run(['enrolment', 'create', 'lead', '--json', '--config', config]);
    expect(enrolment.code, enrolment.err).toBe(0);
    const created = JSON.parse(enrolment.out);
    expect(created.redeem_url).toBe(`https://ledger.example.com/enrol#code=${created.code}`);
    // Agents still get tokens.
    const agent = await run(['principal', 'add', 'bot', '--kind', 'agent', '--json', '--config', config]);
    expect(JSON.parse(agent.out).token.token).toMatch(/^clg_/);
    expect((await run(['token', 'create', 'bot', '--config', config])).code).toBe(0);
  });

  it('issues a person a token when the configuration allows it', async () => {
    const config = configFile('auth:\n  admin_may_issue_human_tokens: true\n');
    expect((await run(['principal', 'add', 'dev', '--kind', 'human', '--config', config])).out).toMatch(
      /token \(shown once\): clg_/,
    );
    expect((await run(['token', 'create', 'dev', '--config', config])).code).toBe(0);
  });
});
