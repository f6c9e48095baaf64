import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { MCP_TOOL_NAMES } from '../../src/mcp/tool-names.js';
import { configChange, type Fixture } from '../helpers/fixture.js';
import { busyFirst } from '../helpers/flaky-proxy.js';
import { type LedgerServer, startLedgerServer } from './ledger-server.js';

const REVISION = '2026-07-28';
const ROOT = join(import.meta.dirname, '..', '..');

type Structured = Record<string, unknown>;

async function eventually(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) expect.fail('the condition did not hold in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client(
    { name: 'test-agent', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: REVISION } } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** A tool's structured result; fails the test on a tool error. */
async function call(client: Client, name: string, args: Record<string, unknown>): Promise<Structured> {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) expect.fail(`${name} failed: ${JSON.stringify(result.content)}`);
  expect(result.structuredContent).toBeDefined();
  return result.structuredContent as Structured;
}

/** An MCP client talking to `changeledger mcp --url <target> --token <token>` over stdio, as an agent's host runs it. */
async function stdioAgent(target: string, token: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      '--eval',
      "const { runCli } = await import('./src/cli/main.ts'); process.exitCode = await runCli(process.argv.slice(1));",
      'mcp',
      '--url',
      target,
      '--token',
      token,
    ],
    cwd: ROOT,
    stderr: 'pipe',
  });
  const agent = new Client({ name: 'stdio-agent', version: '1.0.0' });
  await agent.connect(transport);
  return agent;
}

describe('an agent over MCP (streamable HTTP)', () => {
  let ledger: LedgerServer;
  let f: Fixture;
  let url: string;
  /** The same ledger, its MCP server configured with decide_change_set switched off and an OIDC issuer. */
  let restricted: LedgerApp;
  let restrictedUrl: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    ledger = await startLedgerServer();
    ({ f, url } = ledger);
    restricted = await buildApp({
      engine: f.engine,
      mcp: { enabled: true, disabled: ['decide_change_set'], issuer: 'https://idp.example.com', allowedHosts: [] },
    });
    restrictedUrl = await restricted.listen({ port: 0, host: '127.0.0.1' });
    for (const who of ['Agent-D', 'alice']) tokens[who] = (await f.engine.issueToken(null, who)).token;
  });
  afterAll(async () => {
    await restricted.close();
    await ledger.close();
  });

  it('lists the tools, each with input and output schemas', async () => {
    const agent = await connect(url, tokens['Agent-D']!);
    try {
      const { tools } = await agent.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...MCP_TOOL_NAMES].sort());
      for (const tool of tools) {
        expect(tool.description?.length, tool.name).toBeGreaterThan(60);
        expect(tool.inputSchema.type).toBe('object');
        expect(tool.outputSchema?.type, tool.name).toBe('object');
      }
      const decide = tools.find((t) => t.name === 'decide_change_set');
      expect(decide?.inputSchema.required).toEqual(expect.arrayContaining(['id', 'decision', 'content_hash']));
    } finally {
      await agent.close();
    }
  });

  it('carries a change-set from proposal through approval to apply and rollback', async () => {
    const agent = await connect(url, tokens['Agent-D']!);
    try {
      const body = configChange();
      const proposed = await call(agent, 'propose_change_set', body);
      expect(proposed).toMatchObject({ change_set_id: body.change_set_id, status: 'DRAFT' });
      const id = proposed['change_set_id'] as string;

      const submitted = await call(agent, 'submit_change_set', { id });
      expect(submitted['status']).toBe('PENDING_APPROVAL');

      const mine = await call(agent, 'list_change_sets', { mine: true, status: 'PENDING_APPROVAL' });
      expect((mine['data'] as Structured[]).map((cs) => cs['change_set_id'])).toContain(id);

      const notMine = await call(agent, 'list_change_sets', { awaiting_my_decision: true });
      expect((notMine['data'] as Structured[]).map((cs) => cs['change_set_id'])).not.toContain(id);
      const reviewer = await connect(url, tokens['alice']!);
      try {
        const awaiting = await call(reviewer, 'list_change_sets', { awaiting_my_decision: true });
        expect((awaiting['data'] as Structured[]).map((cs) => cs['change_set_id'])).toContain(id);
      } finally {
        await reviewer.close();
      }

      // The agent blocks; a person approves through the HTTP API meanwhile.
      const waiting = call(agent, 'wait_for_decision', { id, timeout_s: 60 });
      await eventually(() => ledger.waiters.count === 1);
      const read = await fetch(`${url}/api/ledger/changesets/${id}`, {
        headers: { authorization: `Bearer ${tokens['alice']}` },
      }).then((r) => r.json() as Promise<Structured>);
      const approve = await fetch(`${url}/api/ledger/changesets/${id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens['alice']}`, 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'APPROVED', reason: 'fine', content_hash: read['content_hash'] }),
      });
      expect(approve.status).toBe(200);
      const decided = await waiting;
      expect(decided).toMatchObject({ ended_by: 'outcome', outcome: 'approved', next: { action: 'apply' } });
      expect(decided['reasons']).toContainEqual(expect.objectContaining({ by: 'alice', what: 'approved' }));

      const plan = await call(agent, 'plan_change_set', { id });
      expect(plan['would_succeed']).toBe(true);

      const applied = await call(agent, 'apply_change_set', { id, mode: 'ATOMIC' });
      expect(applied).toMatchObject({ success: true, status: 'APPLIED' });

      const item = body.items[0]!;
      const resource = await call(agent, 'get_resource', { target_type: item.target_type, target_id: item.target_id });
      expect(resource['resource']).toMatchObject({ state: { value: 1 }, version: 1 });
      expect(resource['history']).toHaveLength(1);

      const rolledBack = await call(agent, 'rollback_change_set', { id, reason: 'trying the old value again' });
      expect(rolledBack).toMatchObject({ success: true, forced: false });

      const got = await call(agent, 'get_change_set', { id });
      expect(got['status']).toBe('ROLLED_BACK');
      const after = await call(agent, 'get_resource', { target_type: item.target_type, target_id: item.target_id });
      expect(after['resource']).toBeNull();
      expect(after['history']).toHaveLength(2);
    } finally {
      await agent.close();
    }
  });

  it('answers a refusal as a tool error carrying the API code, and never lets the agent decide its own', async () => {
    const agent = await connect(url, tokens['Agent-D']!);
    try {
      const proposed = await call(agent, 'propose_change_set', configChange());
      const id = proposed['change_set_id'] as string;
      const result = await agent.callTool({ name: 'apply_change_set', arguments: { id } });
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toMatchObject({ code: 'INVALID_TRANSITION' });
      expect(String((result.structuredContent as Structured)['message'])).toMatch(/DRAFT/);
      // The API's fix reaches the agent: what the DRAFT status allows instead.
      expect(String((result.structuredContent as Structured)['fix'])).toMatch(/submit/);
      expect(result.content).toContainEqual(
        expect.objectContaining({ text: expect.stringMatching(/^INVALID_TRANSITION: /) }),
      );

      // Never its own decision: the ledger refuses, and the agent reads why.
      const submitted = await call(agent, 'submit_change_set', { id });
      const own = await agent.callTool({
        name: 'decide_change_set',
        arguments: { id, decision: 'APPROVED', content_hash: submitted['content_hash'] },
      });
      expect(own.isError).toBe(true);
      expect(own.structuredContent).toMatchObject({ code: 'FORBIDDEN', fix: expect.stringMatching(/approver/) });
      expect((await f.engine.get(id)).status).toBe('PENDING_APPROVAL');
    } finally {
      await agent.close();
    }
  });

  it('neither lists nor runs a disabled tool', async () => {
    const agent = await connect(restrictedUrl, tokens['alice']!);
    try {
      const { tools } = await agent.listTools();
      expect(tools.map((t) => t.name)).not.toContain('decide_change_set');
      expect(tools).toHaveLength(MCP_TOOL_NAMES.length - 1);
      const id = (await f.engine.create(f.p['Agent-D']!, configChange())).change_set_id;
      const result = await agent
        .callTool({
          name: 'decide_change_set',
          arguments: { id, decision: 'APPROVED', content_hash: `sha256:${'0'.repeat(64)}` },
        })
        .then(
          (answer) => ({ refused: answer.isError === true, text: JSON.stringify(answer.content) }),
          (error: Error) => ({ refused: true, text: error.message }),
        );
      expect(result.refused).toBe(true);
      expect(result.text).toMatch(/decide_change_set disabled/);
    } finally {
      await agent.close();
    }
  });

  it('answers 401 with a Bearer challenge pointing at the protected-resource metadata, and 403 to a foreign Origin', async () => {
    const response = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer resource_metadata="([^"]+)"$/);
    expect(await response.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });

    const wrong = await fetch(`${url}/mcp`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);

    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1] ?? '';
    const metadata = (await fetch(metadataUrl).then((r) => r.json())) as Structured;
    expect(metadata).toMatchObject({ resource: `${url}/mcp`, bearer_methods_supported: ['header'] });
    expect(metadata['authorization_servers']).toBeUndefined();
    // With single sign-on configured, its issuer is named as the authorization server.
    const withIssuer = (await fetch(`${restrictedUrl}/.well-known/oauth-protected-resource/mcp`).then((r) =>
      r.json(),
    )) as Structured;
    expect(withIssuer).toMatchObject({
      resource: `${restrictedUrl}/mcp`,
      authorization_servers: ['https://idp.example.com'],
    });
    // A page that rebinds its own name to this address is refused before any token is read.
    const rebound = await fetch(`${url}/mcp`, { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(rebound.status).toBe(403);
    expect(await rebound.json()).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('over stdio, sends a call answered 503 OVERLOADED again after Retry-After, a write with the same key', async () => {
    // A real HTTP server in front of the ledger: the first two requests are answered busy, then passed on.
    const proxy = await busyFirst(url, 2);
    const { seen } = proxy;
    const proxyUrl = proxy.url;
    const agent = await stdioAgent(proxyUrl, tokens['Agent-D']!);
    try {
      const body = configChange();
      const proposed = await call(agent, 'propose_change_set', body);
      expect(proposed).toMatchObject({ change_set_id: body.change_set_id });
      expect(seen.map((s) => s.method)).toEqual(['POST', 'POST', 'POST']);
      expect(seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Set(seen.map((s) => s.key)).size).toBe(1);
      expect((await f.engine.audit(body.change_set_id)).map((e) => e.action)).toEqual(['create']);
    } finally {
      await agent.close();
      await proxy.close();
    }
  });

  it('serves the same tools over stdio: changeledger mcp --url --token', async () => {
    const id = (await f.engine.create(f.p['Agent-D']!, configChange())).change_set_id;
    const agent = await stdioAgent(url, tokens['Agent-D']!);
    try {
      const { tools } = await agent.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...MCP_TOOL_NAMES].sort());
      const got = await call(agent, 'get_change_set', { id });
      expect(got).toMatchObject({ change_set_id: id, status: 'DRAFT' });
    } finally {
      await agent.close();
    }
  });
});
