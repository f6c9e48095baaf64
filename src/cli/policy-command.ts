// `changeledger policy test`: the configured risk model and policies tried on a change-set file,
// without a server or database (engine/policy-test.ts computes, this file parses and prints).
// `changeledger policy replay`: the configuration judged against the recorded history of its
// database, read-only (engine/replay.ts computes; docs/trust.md#policies-in-shadow-and-replay).
import type { Command } from 'commander';
import { engineConfigOf, loadConfig } from '../config.js';
import { LedgerError } from '../core/errors.js';
import { POLICY_ACTIONS, type PolicyAction } from '../core/policy.js';
import type { ReplayOutcome } from '../core/replay.js';
import { PRINCIPAL_KINDS, type Principal, type PrincipalKind } from '../core/types.js';
import {
  Engine,
  type PolicyTestResult,
  REPLAY_DEFAULT_LIMIT,
  REPLAY_MAX_LIMIT,
  type ReplayResult,
  testPolicies,
} from '../engine/index.js';
import { openDatabase } from '../server.js';
import { readChangeSetFile } from './client-commands.js';
import { printResult, table } from './format.js';

interface PolicyTestOptions {
  file: string;
  as?: string;
  kind: string;
  groups?: string;
  action: string;
  at?: string;
  json?: boolean;
}

/** Exit status of `policy test` when the action would be denied (0 otherwise). */
const DENIED_EXIT_CODE = 2;

function principalOf(options: PolicyTestOptions, body: Record<string, unknown>): Principal {
  if (!PRINCIPAL_KINDS.includes(options.kind as PrincipalKind)) {
    throw new Error(`--kind must be one of ${PRINCIPAL_KINDS.join(', ')}`);
  }
  const fromFile = typeof body.agent_id === 'string' ? body.agent_id : undefined;
  const groups = (options.groups ?? '')
    .split(',')
    .map((group) => group.trim())
    .filter((group) => group !== '');
  return {
    id: options.as ?? fromFile ?? 'agent',
    kind: options.kind as PrincipalKind,
    display_name: null,
    email: null,
    slack_id: null,
    groups,
    risk: null,
    active: true,
  };
}

function parseAction(value: string): PolicyAction {
  if (!POLICY_ACTIONS.includes(value as PolicyAction)) {
    throw new Error(`--action must be one of ${POLICY_ACTIONS.join(', ')}`);
  }
  return value as PolicyAction;
}

function parseAt(value: string | undefined): Date {
  if (value === undefined) return new Date();
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new Error(`--at must be an ISO-8601 timestamp, got ${value}`);
  return at;
}

function verdict(result: PolicyTestResult): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (result.denied) {
    const by = result.denials.map((d) => `${d.policy} (${d.action})${d.message ? `: ${d.message}` : ''}`);
    return `${result.action} would be DENIED by ${by.join('; ')}`;
  }
  const warnings = result.matched.filter((e) => e.effect === 'warn').length;
  const approvals = result.auto_approved ? 'auto-approved' : `needs ${plural(result.required_approvals, 'approval')}`;
  return `${result.action} would be allowed (${approvals}${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''})`;
}

function humanView(result: PolicyTestResult): string {
  const { risk, principal } = result;
  const f = risk.factors;
  const lines = [
    `change-set ${result.change_set_id} as ${principal.id} (${principal.kind}${principal.groups.length > 0 ? `, groups ${principal.groups.join(', ')}` : ''}), ${result.action} at ${result.evaluated_at}`,
    `risk: ${risk.level} score ${risk.score} (operation ${f.operation}, target ${f.target}, agent ${f.agent}, scope ${f.scope}, quantity ${f.quantity})${risk.auto_approve ? ', auto-approvable' : ''}`,
    ...risk.recommendations.map((r) => `  recommendation: ${r}`),
    '',
    `approvals: ${result.required_approvals} required`,
    table(
      ['STEP', 'COUNT', 'APPROVERS', 'MESSAGE'],
      result.approval_steps.map((s) => [s.name, s.count, s.approvers.join(', '), s.message]),
    ),
    '',
  ];
  if (result.evaluations.length === 0) lines.push('policies: none runs at this action');
  else {
    lines.push(
      `policies: ${result.matched.length} of ${result.evaluations.length} evaluations matched`,
      table(
        ['POLICY', 'ACTION', 'EFFECT', 'MATCHED', 'MESSAGE'],
        result.evaluations.map((e) => [e.policy, e.action, e.effect, e.matched ? 'yes' : 'no', e.message]),
      ),
    );
  }
  lines.push('', verdict(result));
  return lines.join('\n');
}

async function policyTest(options: PolicyTestOptions, command: Command): Promise<void> {
  const action = parseAction(options.action);
  const now = parseAt(options.at);
  const config = engineConfigOf(loadConfig({ path: command.optsWithGlobals().config }));
  const body = await readChangeSetFile(options.file);
  const result = testPolicies({ config, body, principal: principalOf(options, body), action, now });
  printResult(result, options.json, () => humanView(result));
  if (result.denied) process.exitCode = DENIED_EXIT_CODE;
}

interface PolicyReplayOptions {
  since: string;
  limit: string;
  enforceShadow?: boolean;
  json?: boolean;
}

const describeOutcome = (o: ReplayOutcome): string =>
  [
    `${o.risk_level} ${o.risk_score}`,
    o.auto_approved ? 'auto-approved' : `${o.required_approvals} approval${o.required_approvals === 1 ? '' : 's'}`,
    ...(o.denied ? [`denied at ${o.denied.action} by ${o.denied.policies.join(', ')}`] : []),
  ].join(', ');

export function replayView(result: ReplayResult): string {
  const { totals } = result;
  const lines = [
    `replayed ${totals.replayed} change-set${totals.replayed === 1 ? '' : 's'} created ${result.since} .. ${result.until}`,
    `policies judged: ${result.policies.length > 0 ? result.policies.join(', ') : 'none'}`,
    '',
    result.summary,
  ];
  if (result.differences.length > 0) {
    lines.push(
      '',
      table(
        ['CHANGE-SET', 'STATUS', 'DIFFERS', 'RECORDED', 'CANDIDATE'],
        result.differences.map((d) => [
          d.change_set_id,
          d.rolled_back && d.status !== 'ROLLED_BACK' ? `${d.status} (rolled back)` : d.status,
          d.differs.join(', '),
          describeOutcome(d.recorded),
          describeOutcome(d.candidate),
        ]),
      ),
    );
    if (result.truncated) {
      lines.push(
        `(${result.differences.length} of ${totals.changed} listed: --limit shows more, up to ${REPLAY_MAX_LIMIT})`,
      );
    }
  }
  return lines.join('\n');
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > REPLAY_MAX_LIMIT) {
    throw new Error(`--limit must be an integer from 1 to ${REPLAY_MAX_LIMIT}, got ${value}`);
  }
  return limit;
}

/** The refusal as the CLI says it: the message, then each path. */
function describeRefusal(error: LedgerError): string {
  const details = (error.details ?? []).map((d) => `  ${d.path ?? ''}: ${d.message}`);
  return [error.message, ...details].join('\n');
}

async function policyReplay(options: PolicyReplayOptions, command: Command): Promise<void> {
  const limit = parseLimit(options.limit);
  const config = loadConfig({ path: command.optsWithGlobals().config });
  // Opened without migrating: replay writes nothing, not even the schema.
  const db = await openDatabase(config);
  try {
    const engine = new Engine({ db, config: engineConfigOf(config) });
    const schema = await engine.schemaStatus();
    if (schema.current !== schema.expected) {
      throw new Error(
        `the database schema is at ${schema.current}, this code expects ${schema.expected}: migrate first`,
      );
    }
    const result = await engine.replayPolicies(null, engineConfigOf(config), {
      since: options.since,
      limit,
      enforce_shadow: options.enforceShadow ?? false,
    });
    printResult(result, options.json, () => replayView(result));
  } catch (error) {
    if (error instanceof LedgerError) throw new Error(describeRefusal(error));
    throw error;
  } finally {
    await db.close();
  }
}

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('policies: try them on a file, replay them on the history');
  policy
    .command('replay')
    .description(
      'judge the configuration (--config: its policies, risk model and approvers) against the change-sets recorded ' +
        'in its database since --since, and show what would differ; writes nothing (direct database access)',
    )
    .option('--since <window>', 'change-sets created since: 30d, 12h, 90m or an ISO-8601 time', '30d')
    .option(
      '--limit <n>',
      `how many differing change-sets to list (the totals count all)`,
      String(REPLAY_DEFAULT_LIMIT),
    )
    .option('--enforce-shadow', 'judge the shadow policies as if they were enforced')
    .option('--json', 'print JSON')
    .action((options: PolicyReplayOptions, command: Command) => policyReplay(options, command));
  policy
    .command('test')
    .description(
      `show the risk, matched policies and approval steps the configuration gives a change-set file; exit status ${DENIED_EXIT_CODE} when the action would be denied`,
    )
    .requiredOption('-f, --file <file>', 'a .json, .yaml or .yml change-set file, or - for JSON on stdin')
    .option('--as <principal>', "the acting principal's id (default: the file's agent_id, else agent)")
    .option('--kind <kind>', `the principal's kind: ${PRINCIPAL_KINDS.join(', ')}`, 'agent')
    .option('--groups <groups>', "the principal's groups, comma-separated")
    .option('--action <action>', `${POLICY_ACTIONS.join(', ')}`, 'create')
    .option('--at <timestamp>', 'evaluate as of this ISO-8601 time (default: now)')
    .option('--json', 'print JSON')
    .action((options: PolicyTestOptions, command: Command) => policyTest(options, command));
}
