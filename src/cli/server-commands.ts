// Commands with direct database access: serve, migrate, audit verify and adopt, principal add, token create,
// enrolment create. Whoever runs them holds the database, yet they keep the API's rule on people's
// credentials: no token for a human unless auth.admin_may_issue_human_tokens; humans enrol.
import type { Command } from 'commander';
import { type Config, engineConfigOf, loadConfig } from '../config.js';
import { adminTokenRefusal } from '../core/credentials.js';
import { PRINCIPAL_KINDS, type PrincipalKind } from '../core/types.js';
import { Engine } from '../engine/index.js';
import { auditKeyOf, openDatabase, startServer } from '../server.js';
import { printResult } from './format.js';

const configOf = (command: Command) => loadConfig({ path: command.optsWithGlobals().config });

async function withEngine<T>(command: Command, fn: (engine: Engine, config: Config) => Promise<T>): Promise<T> {
  const config = configOf(command);
  // The key `serve` uses, if there is one here: heads written or checked without it are unsigned.
  const signer = auditKeyOf(config, { create: false })?.signer ?? null;
  const db = await openDatabase(config);
  try {
    const engine = new Engine({ db, config: engineConfigOf(config), signer });
    await engine.migrate();
    return await fn(engine, config);
  } finally {
    await db.close();
  }
}

async function serve(command: Command): Promise<void> {
  const config = configOf(command);
  // Signals are handled from the first moment: a SIGTERM during start-up waits for the start to
  // finish, then stops cleanly, instead of killing the process with its database open.
  let stop: () => Promise<void> = async () => {};
  const stopped = new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      console.log(`changeledger: ${signal}, finishing in-flight requests`);
      const timer = setTimeout(() => {
        console.error(`changeledger: shutdown did not finish within ${config.server.shutdown_timeout_ms} ms`);
        process.exit(1);
      }, config.server.shutdown_timeout_ms);
      timer.unref();
      started
        .then(() => stop())
        .then(resolve, (error: unknown) => {
          console.error(`changeledger: shutdown failed: ${String(error)}`);
          process.exit(1);
        });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  const started = startServer(config).then((server) => {
    stop = server.stop;
    const where = config.database.url ? 'PostgreSQL' : `embedded database in ${config.database.data_dir}`;
    console.log(`changeledger listening on ${server.url} (${where})`);
    console.log(`dashboard: ${server.url}/`);
    console.log(`API docs: ${server.url}/docs`);
    console.log(
      server.admin.source === 'environment'
        ? 'admin token: CHANGELEDGER_ADMIN_TOKEN (principal admin)'
        : `admin token: ${server.admin.path} (principal admin${server.admin.created ? ', new' : ''})`,
    );
    const key = server.auditKey;
    console.log(
      `audit signing key ${key.signer.keyId}: ${key.source === 'environment' ? 'CHANGELEDGER_AUDIT_KEY' : `${key.path}${key.created ? ' (new)' : ''}`}`,
    );
  });
  await started;
  await stopped;
}

function verifyReport(result: Awaited<ReturnType<Engine['verifyAudit']>>): string {
  const { signatures: s } = result;
  const lines = [
    result.ok
      ? `audit trail intact: ${result.entries} entries in ${result.chains} chains`
      : `AUDIT TRAIL BROKEN: ${result.entries} entries in ${result.chains} chains`,
    s.checked
      ? `chain heads: ${s.signed} signed with key ${s.key_id}, ${s.unsigned} unsigned, ${s.invalid} with a bad signature`
      : `chain heads NOT checked: no audit signing key here (${s.signed} signed, ${s.unsigned} unsigned)`,
  ];
  const broken = result.first_break;
  if (broken) {
    lines.push(
      `first break at entry seq ${broken.seq} (chain ${broken.change_set_id ?? broken.chain}, position ${broken.chain_seq}): ${broken.reason}`,
    );
  }
  for (const f of result.findings) {
    lines.push(`${f.kind}: ${f.change_set_id ?? f.chain ?? 'resources'}: ${f.message}`);
  }
  if (result.findings_count > result.findings.length) {
    lines.push(`… and ${result.findings_count - result.findings.length} more findings (--json lists the first ones)`);
  }
  return lines.join('\n');
}

export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP server')
    .action((_options, command: Command) => serve(command));

  program
    .command('migrate')
    .description('apply database migrations')
    .action((_o, command: Command) =>
      withEngine(command, async (engine) => {
        const result = await engine.migrate();
        console.log(`schema at version ${result.current}`);
      }),
    );

  const audit = program.command('audit').description('audit trail commands');
  audit
    .command('verify')
    .description('recompute every audit hash chain, check head signatures and the state (direct database access)')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }, command: Command) =>
      withEngine(command, async (engine) => {
        const result = await engine.verifyAudit();
        printResult(result, options.json, () => verifyReport(result));
        if (!result.ok) process.exitCode = 3;
      }),
    );

  audit
    .command('adopt')
    .description('sign the chain heads written without a key, when verify finds nothing else (after an upgrade)')
    .action((_o, command: Command) =>
      withEngine(command, async (engine) => {
        const { adopted } = await engine.adoptUnsignedHeads();
        console.log(`signed ${adopted} chain heads written without a key`);
      }),
    );

  const collect = (value: string, previous: string[]) => [...previous, value];
  program
    .command('principal')
    .description('principals (direct database access)')
    .command('add <id>')
    .option('--kind <kind>', `one of ${PRINCIPAL_KINDS.join(', ')}`, 'human')
    .option('--group <group>', 'a group (repeatable)', collect, [])
    .option('--email <email>')
    .option('--slack-id <id>')
    .option('--risk <n>', 'agent-risk override 0–100')
    .option('--name <display name>')
    .option('--json', 'print JSON')
    .action(
      (
        id: string,
        o: {
          kind: string;
          group: string[];
          email?: string;
          slackId?: string;
          risk?: string;
          name?: string;
          json?: boolean;
        },
        command: Command,
      ) =>
        withEngine(command, async (engine, config) => {
          if (!PRINCIPAL_KINDS.includes(o.kind as PrincipalKind))
            throw new Error(`--kind must be one of ${PRINCIPAL_KINDS.join(', ')}`);
          const risk = o.risk === undefined ? null : Number(o.risk);
          if (risk !== null && !(Number.isInteger(risk) && risk >= 0 && risk <= 100))
            throw new Error('--risk must be an integer from 0 to 100');
          const kind = o.kind as PrincipalKind;
          const withToken = adminTokenRefusal({ id, kind }, config.auth.admin_may_issue_human_tokens) === null;
          const { principal, token } = await engine.createPrincipal(
            null,
            {
              id,
              kind,
              display_name: o.name ?? null,
              email: o.email ?? null,
              slack_id: o.slackId ?? null,
              groups: o.group,
              risk,
              active: true,
            },
            { withToken },
          );
          printResult({ principal, token }, o.json, () =>
            token
              ? `principal ${principal.id} added\ntoken (shown once): ${token.token}`
              : `principal ${principal.id} added, without a token: a person enrols (changeledger enrolment create ${principal.id})`,
          );
        }),
    );

  program
    .command('token')
    .description('tokens (direct database access)')
    .command('create <principal>')
    .option('--name <name>')
    .option('--json', 'print JSON')
    .action((principal: string, o: { name?: string; json?: boolean }, command: Command) =>
      withEngine(command, async (engine, config) => {
        const found = await engine.requirePrincipal(principal);
        const refusal = adminTokenRefusal(found, config.auth.admin_may_issue_human_tokens);
        if (refusal) throw new Error(`${refusal} (here: changeledger enrolment create ${principal})`);
        const issued = await engine.issueToken(null, principal, o.name ?? null);
        printResult(issued, o.json, () => `token for ${principal} (shown once): ${issued.token}`);
      }),
    );

  program
    .command('enrolment')
    .description('one-time enrolments (direct database access)')
    .command('create <principal>')
    .option('--json', 'print JSON')
    .action((principal: string, o: { json?: boolean }, command: Command) =>
      withEngine(command, async (engine, config) => {
        const created = await engine.createEnrolment(null, principal);
        const redeem_url = `${config.dashboard_url}/enrol#code=${encodeURIComponent(created.code)}`;
        printResult(
          { ...created, redeem_url },
          o.json,
          () =>
            `enrolment for ${principal}, redeemable once until ${created.expires_at}\n` +
            `give ${principal} (only) this link: ${redeem_url}\n` +
            `or the code (shown once), for POST /api/ledger/enrolments/redeem: ${created.code}`,
        );
      }),
    );
}
