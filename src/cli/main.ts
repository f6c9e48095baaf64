// The `changeledger` command: server and database commands (direct) and client commands (HTTP).
import { Command, CommanderError } from 'commander';
import { isRefusal } from '../client/index.js';
import { LedgerError } from '../core/errors.js';
import { registerAgentCommands } from './agent-command.js';
import { registerClientCommands } from './client-commands.js';
import { registerMcpCommand } from './mcp-command.js';
import { registerPolicyCommands } from './policy-command.js';
import { registerServerCommands } from './server-commands.js';

export function buildProgram(): Command {
  const program = new Command('changeledger')
    .description('change-set workflow engine: risk, approvals, policy, apply, rollback, audit')
    .option('--config <file>', 'configuration file (default: $CHANGELEDGER_CONFIG or ./changeledger.yaml)')
    .showHelpAfterError()
    .exitOverride();
  registerServerCommands(program);
  registerClientCommands(program);
  registerAgentCommands(program);
  registerPolicyCommands(program);
  registerMcpCommand(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    // A refusal of a server command (the engine's own) says what to do, as an API refusal does.
    const message =
      error instanceof LedgerError
        ? `${error.message}\nfix: ${error.fix}`
        : error instanceof Error
          ? error.message
          : String(error);
    // Refused for want of a token the caller never gave: say how to give one.
    const hint =
      isRefusal(error, 'UNAUTHENTICATED') && !error.tokenSent
        ? '\nhint: pass --token or set CHANGELEDGER_TOKEN'
        : isRefusal(error, 'VALIDATION_FAILED') && error.details.some((d) => d.path === 'content_hash')
          ? '\nhint: pass --content-hash with the content hash you reviewed (changeledger changeset show <id> prints it)'
          : '';
    console.error(`changeledger: ${message}${hint}`);
    return 1;
  }
}
