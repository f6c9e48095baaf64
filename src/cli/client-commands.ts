// Client commands over the HTTP API: `changeset …` and `resource …` (docs/design.md#cli).
// Human-readable by default; --json prints the API's JSON as it came.
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import {
  type ChangeSetBody,
  type ChangeSetPage,
  type ChangeSetView,
  createLedgerClient,
  type DecisionBody,
  type LedgerClient,
  type ListQuery,
} from '../client/index.js';
import type { AuditEntry } from '../core/audit-chain.js';
import type { PlanItem } from '../core/plan.js';
import { APPLY_MODES, type ApplyMode, type Decision } from '../core/types.js';
import type { ApplyResult, HistoryView, PlanResult, ResourceView, RollbackResult } from '../engine/index.js';
import { printResult, table } from './format.js';
import { syncResources } from './resource-sync.js';

type Summary = ChangeSetPage['data'][number];
interface Common {
  json?: boolean;
  idempotencyKey?: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

const CONNECTION_HELP = `
Server: --url, else $CHANGELEDGER_URL, else ${DEFAULT_URL}.
Token: --token, else $CHANGELEDGER_TOKEN. Both options may also follow a subcommand.
Exit status: 0 on success; 1, with the API's message on stderr, when a request is refused.`;

/** The typed client for `--url`/`--token`, else CHANGELEDGER_URL/CHANGELEDGER_TOKEN, else the default URL. */
export function connect(
  options: { url?: string | undefined; token?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): LedgerClient {
  const url = options.url ?? (env['CHANGELEDGER_URL'] || DEFAULT_URL);
  if (!/^https?:\/\/[^/]/i.test(url)) throw new Error(`--url must be an http:// or https:// address, got "${url}"`);
  return createLedgerClient({ baseUrl: url, token: options.token ?? env['CHANGELEDGER_TOKEN'] });
}

/**
 * An answer whose documented shape is still looser than what the server sends (plan, apply and
 * rollback items, audit entries, resources), read as the engine's type that the server serialises.
 */
const engineShape = <T>(answer: unknown): T => answer as T;

export const clientOf = (command: Command) => connect(command.optsWithGlobals<{ url?: string; token?: string }>());
/** The Idempotency-Key given with --idempotency-key, if any. */
const keyed = (o: Common) => ({ idempotencyKey: o.idempotencyKey });
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const approvalsOf = (cs: Pick<Summary, 'received_approvals' | 'required_approvals'>) =>
  `${cs.received_approvals}/${cs.required_approvals}`;
const clip = (text: string, max = 60) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const versions = (from: number | null | undefined, to: number | null | undefined) =>
  from === undefined && to === undefined ? null : `${from ?? '-'}→${to ?? '-'}`;

/** `key: value` lines with the values aligned. */
export function fields(rows: readonly [string, unknown][]): string {
  const width = Math.max(...rows.map(([key]) => key.length)) + 1;
  return rows.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value ?? '-'}`).join('\n');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** The create body from a .json, .yaml or .yml file, or JSON on stdin (`-`). */
export async function readChangeSetFile(file: string): Promise<Record<string, unknown>> {
  const ext = extname(file).toLowerCase();
  const format = file === '-' || ext === '.json' ? 'JSON' : ext === '.yaml' || ext === '.yml' ? 'YAML' : null;
  if (!format) throw new Error(`${file}: use a .json, .yaml or .yml file, or - for JSON on stdin`);
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let body: unknown;
  try {
    body = format === 'JSON' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new Error(
      `${file === '-' ? 'stdin' : file} is not valid ${format}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error(
      `${file === '-' ? 'stdin' : file} must hold one change-set (an object with change_set_id, title, items, …)`,
    );
  }
  return body as Record<string, unknown>;
}

export function parseDecision(value: string): Decision {
  const decision = { approved: 'APPROVED', approve: 'APPROVED', rejected: 'REJECTED', reject: 'REJECTED' }[
    value.toLowerCase()
  ];
  if (!decision) throw new Error(`--decision must be APPROVED or REJECTED (or approve, reject), got "${value}"`);
  return decision as Decision;
}

function parseMode(value: string): ApplyMode {
  const mode = value.toUpperCase().replace(/-/g, '_');
  if (!APPLY_MODES.includes(mode as ApplyMode))
    throw new Error(`--mode must be one of ${APPLY_MODES.join(', ')}, got "${value}"`);
  return mode as ApplyMode;
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive integer, got "${value}"`);
  return limit;
}

const created = (cs: ChangeSetView) =>
  `created ${cs.change_set_id} (${cs.status}, risk ${cs.risk.level} score ${cs.risk.score}, needs ${plural(cs.required_approvals, 'approval')})`;

function listView(page: ChangeSetPage): string {
  const rows = page.data.map((cs) => [
    cs.change_set_id,
    cs.status,
    `${cs.risk.level} ${cs.risk.score}`,
    cs.priority,
    cs.category,
    cs.agent_id,
    approvalsOf(cs),
    clip(cs.title),
  ]);
  const body =
    rows.length === 0
      ? 'no change-sets'
      : table(['CHANGE-SET', 'STATUS', 'RISK', 'PRIORITY', 'CATEGORY', 'AGENT', 'APPROVALS', 'TITLE'], rows);
  return page.next_cursor ? `${body}\nnext: --cursor ${page.next_cursor}` : body;
}

function showView(cs: ChangeSetView): string {
  const { factors } = cs.risk;
  const matched = cs.policy_evaluations.filter((p) => p.matched).map((p) => `${p.policy} (${p.effect})`);
  const head = fields([
    ['change-set', `${cs.change_set_id}  ${cs.title}`],
    ['status', `${cs.status} (version ${cs.version})`],
    ['agent', `${cs.agent_id} (${cs.agent_type})`],
    ['category', `${cs.category}, priority ${cs.priority}`],
    ['risk', `${cs.risk.level}, score ${cs.risk.score}${cs.risk.auto_approve ? ', auto-approvable' : ''}`],
    [
      'factors',
      `operation ${factors.operation}, target ${factors.target}, agent ${factors.agent}, scope ${factors.scope}, quantity ${factors.quantity}`,
    ],
    ['approvals', `${approvalsOf(cs)} received/required`],
    ['deadline', cs.approval_deadline],
    ['policies', matched.length > 0 ? matched.join(', ') : null],
    ['content hash', cs.content_hash],
  ]);
  const items = table(
    ['KEY', 'OP', 'TARGET', 'STATUS', 'VERSION'],
    cs.items.map((item) => [
      item.key,
      item.operation_type,
      `${item.target_type}/${item.target_id}`,
      item.status,
      item.applied_version,
    ]),
  );
  const approvals =
    cs.approvals.length === 0
      ? 'approvals: none yet'
      : table(
          ['APPROVER', 'DECISION', 'STALE', 'REASON'],
          cs.approvals.map((a) => [a.approver_id, a.decision, a.stale ? 'yes' : 'no', a.reason]),
        );
  // Who may decide each step still short of approvals (only while pending): ids to type, names to read.
  const who = (d: ChangeSetView['deciders'][number]['eligible'][number]) =>
    `${d.id}${d.display_name && d.display_name !== d.id ? ` (${d.display_name})` : ''}${
      d.decision ? ` ${d.decision.toLowerCase()}` : ''
    }`;
  const deciders =
    cs.deciders.length === 0
      ? []
      : [
          '',
          table(
            ['OPEN STEP', 'APPROVALS', 'WHO MAY DECIDE'],
            cs.deciders.map((s) => [s.step, `${s.received}/${s.count}`, s.eligible.map(who).join(', ') || 'nobody']),
          ),
        ];
  return [head, '', items, '', approvals, ...deciders].join('\n');
}

const errorText = (error: { code: string; message: string } | null | undefined) =>
  error ? `${error.code}: ${error.message}` : null;

function planView(plan: PlanResult): string {
  const rows = plan.items.map((item: PlanItem) => [
    item.key,
    item.operation_type,
    `${item.target_type}/${item.target_id}`,
    item.status,
    versions(item.current.version, item.result?.version ?? null),
    errorText(item.error),
  ]);
  const header = `plan for ${plan.change_set_id} (${plan.status})`;
  return [
    header,
    table(['KEY', 'OP', 'TARGET', 'WOULD', 'FROM→TO', 'ERROR'], rows),
    `would succeed: ${plan.would_succeed ? 'yes' : 'no'}`,
  ].join('\n');
}

function applyView(id: string, result: ApplyResult | PlanResult): string {
  if (result.mode === 'DRY_RUN') return planView(result as PlanResult);
  const applied = result as ApplyResult;
  const errors = new Map(applied.errors.map((e) => [e.key, e]));
  const summary = `${id} is now ${applied.status} (${applied.mode}): ${applied.applied_items} applied, ${applied.failed_items} failed, ${applied.skipped_items} skipped`;
  const rows = applied.items.map((item) => [
    item.key,
    item.status,
    versions(item.from_version, item.to_version),
    errorText(errors.get(item.key)),
  ]);
  return [summary, table(['KEY', 'STATUS', 'FROM→TO', 'ERROR'], rows)].join('\n');
}

function rollbackView(id: string, result: RollbackResult): string {
  const forced = result.forced ? ', forced' : '';
  const summary = `${id} rolled back${forced}: ${plural(result.rolled_back_items, 'item')} restored, ${result.failed_items} failed`;
  if (result.errors.length === 0) return summary;
  return [
    summary,
    table(
      ['KEY', 'ERROR'],
      result.errors.map((e) => [e.key, errorText(e)]),
    ),
  ].join('\n');
}

const auditView = (entries: AuditEntry[]) =>
  table(
    ['SEQ', 'AT', 'ACTOR', 'ACTION', 'HASH'],
    entries.map((e) => [e.seq, e.at, e.actor, e.action, e.hash.slice(0, 12)]),
  );

function resourceView(resource: ResourceView): string {
  const head = fields([
    ['resource', `${resource.target_type}/${resource.target_id}`],
    ['version', resource.version],
    ['change-set', resource.change_set],
    ['updated', resource.updated_at],
  ]);
  return `${head}\nstate:\n${JSON.stringify(resource.state, null, 2)}`;
}

const historyView = (history: HistoryView[]) =>
  history.length === 0
    ? 'no history'
    : table(
        ['VERSION', 'OPERATION', 'CHANGE-SET', 'ACTOR', 'AT', 'PRESENT'],
        history.map((h) => [h.version, h.operation, h.change_set, h.actor, h.at, h.present ? 'yes' : 'no']),
      );

export function connectionOptions(command: Command): Command {
  return command
    .option('--url <url>', `changeledger server (default: $CHANGELEDGER_URL or ${DEFAULT_URL})`)
    .option('--token <token>', 'API token (default: $CHANGELEDGER_TOKEN)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', CONNECTION_HELP);
}

export const jsonOption = (command: Command) => command.option('--json', "print the API's JSON");
/** --json, plus --idempotency-key for commands that change something. */
const writeOptions = (command: Command) =>
  jsonOption(command).option(
    '--idempotency-key <key>',
    'reuse the key of an earlier attempt so a retried command acts once (default: a new random key)',
  );

const TRANSITIONS = {
  submit: 'submit a DRAFT for approval',
  withdraw: 'take a PENDING_APPROVAL change-set back to DRAFT (earlier approvals become stale)',
  reopen: 'reopen a REJECTED or ROLLED_BACK change-set as DRAFT',
  close: 'close (reject) a change-set that is not applied',
} as const;

function registerTransitions(changeset: Command): void {
  for (const [action, description] of Object.entries(TRANSITIONS) as [keyof typeof TRANSITIONS, string][]) {
    const command = changeset.command(`${action} <id>`).description(description);
    if (action !== 'submit') command.option('--reason <reason>', 'why (kept in the audit trail)');
    writeOptions(command).action(async (id: string, o: Common & { reason?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      const result =
        action === 'submit'
          ? await client.submit(id, keyed(o))
          : await client.transition(id, action, o.reason ?? null, keyed(o));
      printResult(result, o.json, () => `${result.change_set_id} is now ${result.status}`);
    });
  }
}

function registerReads(changeset: Command): void {
  jsonOption(changeset.command('show <id>').description('one change-set: status, risk, approvals, items')).action(
    async (id: string, o: Common, cmd: Command) => {
      const result = await clientOf(cmd).get(id);
      printResult(result, o.json, () => showView(result));
    },
  );

  jsonOption(changeset.command('plan <id>').description('what applying would do now (dry run, writes nothing)')).action(
    async (id: string, o: Common, cmd: Command) => {
      const result = engineShape<PlanResult>(await clientOf(cmd).plan(id));
      printResult(result, o.json, () => planView(result));
    },
  );

  jsonOption(changeset.command('audit <id>').description('its audit entries, oldest first')).action(
    async (id: string, o: Common, cmd: Command) => {
      const result = engineShape<{ data: AuditEntry[] }>(await clientOf(cmd).audit(id));
      printResult(result, o.json, () => auditView(result.data));
    },
  );
}

interface ListOptions extends Common {
  status?: string;
  category?: string;
  agent?: string;
  priority?: string;
  tag?: string;
  mineToApprove?: boolean;
  search?: string;
  limit?: number;
  cursor?: string;
}

function registerList(changeset: Command): void {
  const command = changeset
    .command('list')
    .description('change-sets, newest first')
    .option('--status <status>', 'comma-separated statuses, e.g. PENDING_APPROVAL,APPROVED')
    .option('--category <category>')
    .option('--agent <agent>', 'the proposing agent')
    .option('--priority <priority>', 'LOW, NORMAL, HIGH or CRITICAL')
    .option('--tag <tag>')
    .option('--mine-to-approve', 'only change-sets I can decide now')
    .option('--search <text>', 'title search')
    .option('--limit <n>', 'page size (at most 200)', parseLimit)
    .option('--cursor <cursor>', 'the next page, as printed after the table');
  jsonOption(command).action(async (o: ListOptions, cmd: Command) => {
    const result = await clientOf(cmd).list({
      status: o.status,
      category: o.category,
      agent_id: o.agent,
      priority: o.priority?.toUpperCase() as ListQuery['priority'],
      tag: o.tag,
      approver: o.mineToApprove ? 'me' : undefined,
      q: o.search,
      limit: o.limit,
      cursor: o.cursor,
    });
    printResult(result, o.json, () => listView(result));
  });
}

function registerChangeSetCommands(program: Command): void {
  const changeset = connectionOptions(
    program.command('changeset').description('propose, review, apply and roll back change-sets (over HTTP)'),
  );

  writeOptions(
    changeset
      .command('create')
      .description('propose a change-set from a file')
      .requiredOption('-f, --file <file>', 'a .json, .yaml or .yml file, or - for JSON on stdin'),
  ).action(async (o: Common & { file: string }, cmd: Command) => {
    const body = await readChangeSetFile(o.file);
    const result = await clientOf(cmd).create(body as ChangeSetBody, keyed(o));
    printResult(result, o.json, () => created(result));
  });

  registerList(changeset);
  registerReads(changeset);
  registerTransitions(changeset);

  writeOptions(
    changeset
      .command('approve <id>')
      .description('approve or reject a change-set')
      .requiredOption('--decision <decision>', 'APPROVED or REJECTED (also approve, reject)', parseDecision)
      .option('--reason <reason>', 'why (shown to the agent, kept in the audit trail)')
      .option(
        '--content-hash <hash>',
        'the content hash of what you reviewed (`changeset show` prints it); refused if the content changed ' +
          'since. Without it the decision is on the content as the server finds it (printed with the result), ' +
          'and a server with approval.require_content_hash refuses it',
      ),
  ).action(
    async (id: string, o: Common & { decision: Decision; reason?: string; contentHash?: string }, cmd: Command) => {
      // Without --content-hash no hash is sent: one the CLI fetched itself would be a hash its user
      // never saw, binding nothing and getting past approval.require_content_hash.
      const body = {
        decision: o.decision,
        reason: o.reason ?? null,
        ...(o.contentHash === undefined ? {} : { content_hash: o.contentHash }),
      } as DecisionBody;
      const result = await clientOf(cmd).decide(id, body, keyed(o));
      printResult(
        result,
        o.json,
        () =>
          `${o.decision} recorded; ${result.change_set_id} is now ${result.status} (${approvalsOf(result)} approvals)` +
          `\ndecided on content ${result.content_hash}`,
      );
    },
  );

  writeOptions(
    changeset
      .command('apply <id>')
      .description('apply an approved (or partially applied) change-set')
      .option('--mode <mode>', `${APPLY_MODES.join(', ')} (default AUTO: all items or none)`, parseMode),
  ).action(async (id: string, o: Common & { mode?: ApplyMode }, cmd: Command) => {
    const body = o.mode ? { mode: o.mode } : {};
    const result = engineShape<ApplyResult | PlanResult>(await clientOf(cmd).apply(id, body, keyed(o)));
    printResult(result, o.json, () => applyView(id, result));
  });

  writeOptions(
    changeset
      .command('rollback <id>')
      .description('roll back the applied items')
      .requiredOption('--reason <reason>', 'why (kept in the audit trail)')
      .option('--force', 'admins: roll back even where later change-sets changed the same targets'),
  ).action(async (id: string, o: Common & { reason: string; force?: boolean }, cmd: Command) => {
    const body = { reason: o.reason, ...(o.force ? { force: true } : {}) };
    const result = engineShape<RollbackResult>(await clientOf(cmd).rollback(id, body, keyed(o)));
    printResult(result, o.json, () => rollbackView(id, result));
  });
}

function registerResourceCommands(program: Command): void {
  const resource = connectionOptions(program.command('resource').description('the resource store (over HTTP)'));

  jsonOption(resource.command('show <type> <id>').description('the current state of a target')).action(
    async (type: string, id: string, o: Common, cmd: Command) => {
      const result = engineShape<ResourceView>(await clientOf(cmd).getResource(type, id));
      printResult(result, o.json, () => resourceView(result));
    },
  );

  jsonOption(
    resource.command('history <type> <id>').description('every version of a target and the change-set that made it'),
  ).action(async (type: string, id: string, o: Common, cmd: Command) => {
    const result = engineShape<{ data: HistoryView[] }>(await clientOf(cmd).resourceHistory(type, id));
    printResult(result, o.json, () => historyView(result.data));
  });

  registerSyncCommand(resource);
}

function registerSyncCommand(resource: Command): void {
  resource
    .command('sync')
    .description('keep a directory of files (or a command) in step with the approved state under a prefix')
    .option('--prefix <prefix>', 'target ids starting with this (e.g. config.payments.)')
    .option('--target-type <type>', 'only targets of this type')
    .option('--dir <dir>', 'keep <dir>/<target_type>/<target_id>.json (or .yaml) files')
    .option('--exec <command>', 'or run this shell command per write: the state on stdin, CHANGELEDGER_* variables')
    .option('--format <format>', 'json or yaml', 'json')
    .option('--state-file <file>', 'where the ledger version reached is kept (default <dir>/.changeledger-sync.json)')
    .option('--once', 'stop once caught up instead of following')
    .addHelpText(
      'after',
      '\nResumes after a restart from the state file; delete it to start over from the beginning of history.',
    )
    .action(
      async (
        o: {
          prefix?: string;
          targetType?: string;
          dir?: string;
          exec?: string;
          format: string;
          stateFile?: string;
          once?: boolean;
        },
        cmd: Command,
      ) => {
        if ((o.dir === undefined) === (o.exec === undefined))
          throw new Error('resource sync needs one of --dir and --exec');
        if (o.format !== 'json' && o.format !== 'yaml') throw new Error('--format must be json or yaml');
        const stateFile = o.stateFile ?? (o.dir ? join(o.dir, '.changeledger-sync.json') : undefined);
        if (stateFile === undefined)
          throw new Error('--exec needs --state-file, where the ledger version reached is kept');
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
        try {
          const result = await syncResources({
            client: clientOf(cmd),
            prefix: o.prefix,
            targetType: o.targetType,
            dir: o.dir,
            exec: o.exec,
            format: o.format,
            stateFile,
            once: o.once === true,
            signal: stop.signal,
            log: (line) => console.error(line),
          });
          console.log(`ledger version ${result.ledgerVersion}: ${plural(result.writes, 'write')}`);
        } finally {
          process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        }
      },
    );
}

export function registerClientCommands(program: Command): void {
  registerChangeSetCommands(program);
  registerResourceCommands(program);
}
