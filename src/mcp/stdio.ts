// The MCP server over stdio (`changeledger mcp`): one server instance for the connection, its
// tools calling a changeledger server over HTTP through the client given (its token, its address).
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { LedgerClient } from '../client/index.js';
import { buildLedgerMcpServer, type McpSettings } from './server.js';
import { TOOLS } from './tool-set.js';

/** Serves until stdin ends (the host closed the connection). */
export async function serveLedgerMcpStdio(client: LedgerClient, settings: McpSettings): Promise<void> {
  const handle = serveStdio(() => buildLedgerMcpServer(client, TOOLS, settings), {
    onerror: (error) => console.error(`changeledger mcp: ${error.message}`),
  });
  await new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  await handle.close();
}
