// The MCP server over stdio (`changeledger mcp`): one server instance for the connection, its
// tools calling a changeledger server over HTTP with the token given.
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { createLedgerClient } from '../client/index.js';
import { buildLedgerMcpServer, type McpSettings } from './server.js';
import { TOOLS } from './tool-set.js';

export interface StdioOptions extends McpSettings {
  url: string;
  token: string | undefined;
}

/** Serves until stdin ends (the host closed the connection). */
export async function serveLedgerMcpStdio(options: StdioOptions): Promise<void> {
  const client = createLedgerClient({ baseUrl: options.url, token: options.token });
  const handle = serveStdio(() => buildLedgerMcpServer(client, TOOLS, options), {
    onerror: (error) => console.error(`changeledger mcp: ${error.message}`),
  });
  await new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  await handle.close();
}
