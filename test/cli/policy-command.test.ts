// `changeledger policy test`: the configuration's risk model and policies tried on a change-set
// file, in-process through runCli, with temporary files and no database.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { ERROR_CATALOG } from '../../src/core/errors.js';
import { assessRisk, DEFAULT_RISK_CONFIG } from '../../src/core/risk.js';
import { type Run, run } from '../helpers/run-cli.js';

let dir: string;
let configFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'changeledger-policy-test-'));
  configFile = await writeTemp(
    'changeledger.yaml',
    toYaml({
      // The command must not open it: the test checks that it never appears.
      database: { data_dir: join(dir, 'never-created') },
      // `agents` replaces the default map: the seed's agents are listed again.
      agents: { 'Agent-A': 15, 'Agent-C': 35, 'bot-7': 80 },
      policies: [
        {
          name: 'security-review',
          condition: 'items.exists(i, i.target_type.contains("SECURITY") || i.target_id.startsWith("security."))',
          effect: 'require_approval',
          approvers: ['group:security'],
          message: 'Changes to security targets need a reviewer from group security',
        },
        {
          name: 'weekend-freeze',
          actions: ['apply'],
          condition: 'now.getDayOfWeek() in [6, 0]',
          effect: 'deny',
          message: 'No applies at the weekend',
        },
        {
          name: 'no-agent-deletes',
          actions: ['create'],
          condition: 'principal.kind == "agent" && items.exists(i, i.operation_type == "DELETE")',
          effect: 'deny',
          message: 'Agents may not delete',
        },
        {
          name: 'security-team-note',
          condition: '"security" in principal.groups',
          effect: 'warn',
          message: 'Proposed by the security team',
        },
      ],
    }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function writeTemp(name: string, text: string): Promise<string> {
  const file = join(dir, `${randomUUID()}-${name}`);
  await writeFile(file, text);
  return file;
}

const firewall = {
  operation_type: 'CREATE',
  target_type: 'SECURITY_POLICY',
  target_id: 'security.firewall',
  after_state: { allow: ['443/tcp'] },
};
const changeSet = (overrides: Record<string, unknown> = {}) => ({
  change_set_id: 'CS-POLICY-1',
  title: 'Open 443',
  agent_type: 'BACKEND',
  category: 'SECURITY',
  approval_chain: ['alice'],
  items: [firewall],
  ...overrides,
});
const policyTest = (file: string, ...args: string[]) =>
  run(['--config', configFile, 'policy', 'test', '-f', file, ...args]);
const json = (result: Run) => JSON.parse(result.out);

describe('changeledger policy test', () => {
  it('prints the matched policies, the risk and the approval steps of a YAML file', async () => {
    const file = await writeTemp('cs.yaml', toYaml(changeSet()));
    const result = await policyTest(file, '--as', 'Agent-C', '--at', '2026-11-25T10:00:00Z');
    expect(result).toMatchObject({ code: 0, err: '' });
    const lines = result.out.split('\n');
    expect(lines[0]).toBe('change-set CS-POLICY-1 as Agent-C (agent), create at 2026-11-25T10:00:00.000Z');
    expect(lines[1]).toBe('risk: MEDIUM score 41 (operation 5, target 75, agent 35, scope 50, quantity 5)');
    expect(result.out).toContain('approvals: 2 required');
    expect(result.out).toMatch(/^risk +1 +Agent-C, alice, group:admin +-$/m);
    expect(result.out).toMatch(/^security-review +1 +group:security +Changes to security targets/m);
    expect(result.out).toMatch(/^security-review +create +require_approval +yes +Changes to security targets/m);
    expect(result.out).toMatch(/^security-team-note +create +warn +no +-$/m);
    expect(lines.at(-1)).toBe('create would be allowed (needs 2 approvals)');
  });

  it('prints the whole result as JSON with --json, the risk as assessRisk computes it', async () => {
    const file = await writeTemp('cs.json', JSON.stringify(changeSet()));
    const result = await policyTest(file, '--as', 'Agent-C', '--json');
    expect(result.code).toBe(0);
    const out = json(result);
    const risk = assessRisk(
      { agent_id: 'Agent-C', agent_risk: null, category: 'SECURITY', items: [firewall] },
      DEFAULT_RISK_CONFIG,
    );
    expect(out).toMatchObject({
      change_set_id: 'CS-POLICY-1',
      action: 'create',
      principal: { id: 'Agent-C', kind: 'agent', groups: [] },
      risk,
      required_approvals: 2,
      auto_approved: false,
      denied: false,
      denials: [],
    });
    expect(out.approval_steps.map((s: { name: string; count: number }) => [s.name, s.count])).toEqual([
      ['risk', 1],
      ['security-review', 1],
    ]);
    expect(out.matched.map((e: { policy: string }) => e.policy)).toEqual(['security-review']);
  });

  it('shows an apply denied at the weekend, exit status 2', async () => {
    const file = await writeTemp('cs.yaml', toYaml(changeSet()));
    const result = await policyTest(file, '--as', 'Agent-C', '--action', 'apply', '--at', '2026-11-28T12:00:00Z');
    expect(result.code).toBe(2);
    expect(result.out.split('\n').at(-1)).toBe(
      'apply would be DENIED by weekend-freeze (apply): No applies at the weekend',
    );
    expect(result.out).toMatch(/^weekend-freeze +apply +deny +yes +No applies at the weekend$/m);
    const weekday = await policyTest(file, '--action', 'apply', '--at', '2026-11-27T12:00:00Z', '--json');
    expect(weekday.code).toBe(0);
    expect(json(weekday)).toMatchObject({ action: 'apply', denied: false });
  });

  it('takes the principal from --as, --kind and --groups; the agent defaults to the file, then "agent"', async () => {
    const deleting = changeSet({ items: [{ operation_type: 'DELETE', target_type: 'CONFIG', target_id: 'c.1' }] });
    const file = await writeTemp('cs.yaml', toYaml(deleting));
    const asAgent = await policyTest(file, '--json');
    expect(asAgent.code).toBe(2);
    expect(json(asAgent)).toMatchObject({
      principal: { id: 'agent', kind: 'agent' },
      risk: { factors: { agent: 30 } },
      denials: [{ policy: 'no-agent-deletes', message: 'Agents may not delete' }],
    });
    const asHuman = await policyTest(file, '--as', 'sam', '--kind', 'human', '--groups', 'security, ops', '--json');
    expect(asHuman.code).toBe(0);
    expect(json(asHuman)).toMatchObject({
      principal: { id: 'sam', kind: 'human', groups: ['security', 'ops'] },
      denied: false,
      matched: [expect.objectContaining({ policy: 'security-team-note', effect: 'warn' })],
    });
    const fromFile = await writeTemp('cs.json', JSON.stringify({ ...deleting, agent_id: 'bot-7' }));
    expect(json(await policyTest(fromFile, '--kind', 'service', '--json'))).toMatchObject({
      principal: { id: 'bot-7', kind: 'service' },
      risk: { factors: { agent: 80 } },
    });
  });

  it('says when create would auto-approve', async () => {
    const ui = {
      change_set_id: 'CS-UI-1',
      title: 'Add a button',
      agent_type: 'UI',
      category: 'UI_LAYOUT',
      items: [{ operation_type: 'CREATE', target_type: 'UI_COMPONENT', target_id: 'ui.button', after_state: {} }],
    };
    const result = await policyTest(await writeTemp('ui.json', JSON.stringify(ui)), '--as', 'Agent-A');
    expect(result.code).toBe(0);
    expect(result.out).toContain(
      'risk: LOW score 6 (operation 5, target 0, agent 15, scope 15, quantity 5), auto-approvable',
    );
    expect(result.out.split('\n').at(-1)).toBe('create would be allowed (auto-approved)');
  });

  it('touches no database', async () => {
    const file = await writeTemp('cs.yaml', toYaml(changeSet()));
    for (const action of ['create', 'submit', 'apply', 'rollback']) {
      expect((await policyTest(file, '--action', action, '--json')).code).toBe(0);
    }
    expect(existsSync(join(dir, 'never-created'))).toBe(false);
  });

  it('refuses what create would refuse, and bad options, with exit status 1', async () => {
    const invalid = await writeTemp('cs.json', JSON.stringify(changeSet({ items: [] })));
    const refused = await policyTest(invalid);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^changeledger: .*items/);
    const other = await writeTemp('cs.json', JSON.stringify(changeSet({ agent_id: 'Agent-B' })));
    expect((await policyTest(other, '--as', 'Agent-C')).err).toBe(
      `changeledger: agent_id Agent-B is not the acting principal Agent-C\nfix: ${ERROR_CATALOG.FORBIDDEN.fix}`,
    );
    const file = await writeTemp('cs.yaml', toYaml(changeSet()));
    expect((await policyTest(file, '--action', 'approve')).err).toBe(
      'changeledger: --action must be one of create, submit, apply, rollback',
    );
    expect((await policyTest(file, '--kind', 'robot')).err).toBe(
      'changeledger: --kind must be one of agent, human, service',
    );
    expect((await policyTest(file, '--at', 'tomorrow')).err).toBe(
      'changeledger: --at must be an ISO-8601 timestamp, got tomorrow',
    );
  });

  it('stops on a policy that does not compile, naming it', async () => {
    const broken = await writeTemp(
      'broken.yaml',
      toYaml({ policies: [{ name: 'broken', condition: 'items.exists(i,', effect: 'deny' }] }),
    );
    const file = await writeTemp('cs.yaml', toYaml(changeSet()));
    const result = await run(['--config', broken, 'policy', 'test', '-f', file]);
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      `configuration error in ${broken} at policies[0].condition: policy broken does not compile:`,
    );
  });
});
