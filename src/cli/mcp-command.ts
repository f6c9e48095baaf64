// `changeledger mcp`: the MCP server over stdio, for MCP hosts that start their servers as child
// processes (docs/agents.md#mcp). Its tools call a changeledger server over HTTP, as the token's
// principal; nothing is decided here.
import type { Command } from 'commander';
import { serveLedgerMcpStdio } from '../mcp/stdio.js';
import { MCP_TOOL_NAMES, type McpToolName } from '../mcp/tool-names.js';
import { connect, DEFAULT_URL } from './client-commands.js';

function parseDisabled(list: string | undefined): McpToolName[] {
  const names = (list ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !(MCP_TOOL_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new Error(`--disable: unknown tool ${unknown.join(', ')}: use ${MCP_TOOL_NAMES.join(', ')}`);
  return names as McpToolName[];
}

export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description('serve the MCP tools over stdio (for Claude Desktop, Cursor, VS Code …)')
    .option('--url <url>', `changeledger server (default: $CHANGELEDGER_URL or ${DEFAULT_URL})`)
    .option('--token <token>', 'API token of the principal the agent acts as (default: $CHANGELEDGER_TOKEN)')
    .option('--disable <tools>', 'comma-separated tools to leave out')
    .action(async (options: { url?: string; token?: string; disable?: string }) => {
      if (!(options.token ?? process.env['CHANGELEDGER_TOKEN']))
        throw new Error('pass --token or set CHANGELEDGER_TOKEN: the MCP tools act as its principal');
      await serveLedgerMcpStdio(connect(options), { disabled: parseDisabled(options.disable) });
    });
}
