// The `changeledger` command: server and database commands (direct) and client commands (HTTP).
import { Command, CommanderError } from 'commander';
import { registerAgentCommands } from './agent-command.js';
import { registerClientCommands } from './client-commands.js';
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
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    console.error(`changeledger: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
