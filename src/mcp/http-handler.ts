// The MCP server over streamable HTTP: the SDK's per-request handler. Stateless by design: each
// request builds its own server instance around the caller's token and keeps nothing afterwards,
// so any instance of changeledger answers any request (no session to share or pin).
import { createMcpHandler, type McpHttpHandler } from '@modelcontextprotocol/server';
import { createLedgerClient, type FetchLike } from '../client/index.js';
import { buildLedgerMcpServer, type McpSettings } from './server.js';
import { TOOLS } from './tool-set.js';

/** Where the in-process client believes the API is; `fetch` routes it into the app itself. */
const IN_PROCESS_URL = 'http://changeledger.in-process';

export type { FetchLike, McpSettings };

export function createLedgerMcpHandler(fetch: FetchLike, settings: McpSettings): McpHttpHandler {
  return createMcpHandler(({ authInfo }) =>
    buildLedgerMcpServer(
      createLedgerClient({ baseUrl: IN_PROCESS_URL, token: authInfo?.token, fetch }),
      TOOLS,
      settings,
    ),
  );
}
