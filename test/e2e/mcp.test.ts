// `changeledger serve` serves the MCP tools at /mcp as its configuration says: the real process,
// an MCP client of the official SDK with the admin's token, a tool switched off in the file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_TOOL_NAMES } from '../../src/mcp/tool-names.js';
import { makeTempDir, type ServerProcess, startServer } from './helpers.js';

describe('changeledger serve: /mcp', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    const cwd = makeTempDir();
    writeFileSync(join(cwd, 'changeledger.yaml'), 'mcp:\n  tools:\n    disabled: [decide_change_set]\n');
    server = await startServer({ cwd });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lists the configured tools to a client holding an API token, and reads through them', async () => {
    const client = new Client({ name: 'e2e', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', server.url), {
        requestInit: { headers: { authorization: `Bearer ${server.adminToken}` } },
      }),
    );
    try {
      expect(client.getProtocolEra()).toBe('modern');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(MCP_TOOL_NAMES.filter((n) => n !== 'decide_change_set').sort());
      const page = await client.callTool({ name: 'list_change_sets', arguments: {} });
      expect(page.isError).toBeFalsy();
      expect(page.structuredContent).toMatchObject({ data: [], next_cursor: null });
    } finally {
      await client.close();
    }
  });

  it('answers a request without a token 401 with the challenge', async () => {
    const response = await fetch(`${server.url}/mcp`, { method: 'POST' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${server.url}/.well-known/oauth-protected-resource/mcp"`,
    );
  });
});
