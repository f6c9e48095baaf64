// The API document (/api/ledger/openapi.json) is exact: it lints clean with Redocly's recommended
// rules, every operation has an id, a summary, tags and its refusals, named shapes are referred to
// (never inlined), paging and tokens have one shape each, and the response check (which every
// test file runs, test/helpers/response-check-setup.ts) catches an answer the document does not allow.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { addComponents, operation, swaggerOptions } from '../../src/http/openapi.js';
import { CHECK_RESPONSES_ENV, registerResponseCheck, responseChecker } from '../../src/http/response-check.js';
import { migrate } from '../../src/store/migrator.js';
import { openPgliteDb } from '../../src/store/pglite-db.js';
import { makeFixture } from '../helpers/fixture.js';
import { recordedMismatches } from '../helpers/response-check-setup.js';

type Json = Record<string, unknown>;
interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  parameters?: { name?: string; in?: string; $ref?: string; deprecated?: boolean; schema?: Json }[];
  responses: Record<string, { content?: Record<string, { schema: Json }>; headers?: Json }>;
}

let app: LedgerApp;
let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Json> } } & Json;
const routes: { method: string; url: string }[] = [];
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );
const byId = (id: string) => {
  const found = operations().find(({ op }) => op.operationId === id);
  if (!found) throw new Error(`no operation ${id}`);
  return found.op;
};
const jsonSchema = (op: Operation, status: string) => op.responses[status]?.content?.['application/json']?.schema;

/** The routes the app has, from the router's own listing (a tree of path segments). */
function registeredRoutes(tree: string): { method: string; url: string }[] {
  const parents: string[] = [];
  const found: { method: string; url: string }[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const url = (parents[depth - 1] ?? '') + (match[2] ?? '');
    parents[depth] = url;
    for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD')) found.push({ method, url });
  }
  return found;
}

beforeAll(async () => {
  const db = await openPgliteDb();
  await migrate(db);
  const f = await makeFixture(db);
  app = await buildApp({ engine: f.engine });
  await app.ready();
  routes.push(...registeredRoutes(app.printRoutes({ commonPrefix: false })));
  const response = await app.inject({ method: 'GET', url: '/api/ledger/openapi.json' });
  expect(response.statusCode).toBe(200);
  doc = response.json();
});
afterAll(() => app?.close());

describe('the API document', () => {
  it("lints with Redocly's recommended rules without an error", () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-lint-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const cli = join(createRequire(import.meta.url).resolve('@redocly/cli/package.json'), '..', 'bin', 'cli.js');
      let output: string;
      try {
        output = execFileSync(process.execPath, [cli, 'lint', file, '--extends', 'recommended', '--format', 'json'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (error) {
        output = (error as { stdout?: string }).stdout ?? String(error);
      }
      const report = JSON.parse(output.slice(output.indexOf('{'))) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
      };
      const errors = report.problems.filter((p) => p.severity === 'error');
      expect(errors.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
      // The warnings that remain: the two sign-in routes answer only a 302 redirect (operation-2xx-response).
      expect(report.problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer}`).sort()).toEqual([
        'operation-2xx-response #/paths/~1api~1ledger~1auth~1oidc~1callback/get/responses',
        'operation-2xx-response #/paths/~1api~1ledger~1auth~1oidc~1login/get/responses',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('documents every API route with a unique operationId, a summary, tags and its refusals', () => {
    const documented = new Set(operations().map(({ path, method }) => `${method} ${path}`));
    // Every route of the API but the document itself.
    const apiRoutes = routes.filter((r) => r.url.startsWith('/api/ledger/') && r.url !== '/api/ledger/openapi.json');
    expect(apiRoutes.length).toBeGreaterThan(30);
    for (const route of apiRoutes)
      expect(documented, route.url).toContain(`${route.method} ${route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.summary, where).toBeTruthy();
      expect(op.tags?.length, where).toBeGreaterThan(0);
      const refusals = Object.keys(op.responses).filter((status) => status.startsWith('4'));
      expect(refusals, where).toContain('400');
      for (const status of [...refusals, '503'])
        expect(jsonSchema(op, status), `${where} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      expect(op.responses['503']?.headers, where).toHaveProperty('Retry-After');
    }
    expect(doc['servers']).toEqual([{ url: '/' }]);
  });

  it('refers to the named shapes instead of writing them again', () => {
    const components = doc.components.schemas;
    for (const name of ['ChangeSet', 'ChangeSetSummary', 'Item', 'Error', 'ApplyResult', 'DryRunResult', 'Token'])
      expect(components, name).toHaveProperty(name);
    for (const name of ['Principal', 'Event', 'WaitAnswer', 'Resource', 'Delivery', 'RollbackResult'])
      expect(components, name).toHaveProperty(name);
    const named = new Map(Object.entries(components).map(([name, schema]) => [JSON.stringify(schema), name]));
    // No schema anywhere in the paths, or inside another component, is a named one written out.
    const inlined: string[] = [];
    const visit = (node: unknown, where: string, root: boolean) => {
      if (node === null || typeof node !== 'object') return;
      const name = named.get(JSON.stringify(node));
      if (name && !root) inlined.push(`${name} at ${where}`);
      for (const [key, child] of Object.entries(node)) visit(child, `${where}/${key}`, false);
    };
    visit(doc.paths, '#/paths', false);
    for (const [name, schema] of Object.entries(components)) visit(schema, `#/components/schemas/${name}`, true);
    expect(inlined).toEqual([]);
    // Every JSON answer is a component, or one of several, but for Slack's own answer.
    for (const { path, method, op } of operations())
      for (const [status, response] of Object.entries(op.responses)) {
        const schema = response.content?.['application/json']?.schema;
        if (!schema || op.operationId === 'slackInteraction') continue;
        const refs = (schema['oneOf'] as Json[] | undefined) ?? [schema];
        for (const ref of refs) expect(ref, `${method} ${path} ${status}`).toHaveProperty('$ref');
      }
  });

  it('publishes fixed sets as enums', () => {
    const s = doc.components.schemas as Record<string, { properties: Record<string, Json> }>;
    expect(s['ChangeSet']?.properties['status']?.['enum']).toContain('PENDING_APPROVAL');
    expect(s['ChangeSet']?.properties['priority']?.['enum']).toEqual(['LOW', 'NORMAL', 'HIGH', 'CRITICAL']);
    expect(s['Item']?.properties['status']?.['enum']).toContain('ROLLED_BACK');
    expect(s['Item']?.properties['operation_type']?.['enum']).toContain('RESET');
    expect(s['ApplyResult']?.properties['mode']?.['enum']).toEqual(['AUTO', 'ATOMIC', 'BEST_EFFORT']);
    expect(s['DryRunResult']?.properties['mode']?.['enum']).toEqual(['DRY_RUN']);
    expect(s['Error']?.properties['code']?.['enum']).toContain('IDEMPOTENCY_KEY_REUSED');
    expect(s['Principal']?.properties['kind']?.['enum']).toEqual(['agent', 'human', 'service']);
    expect(s['WaitAnswer']?.properties['for']?.['enum']).toEqual(['decision', 'apply', 'rollback']);
    expect(s['Event']?.properties['type']?.['enum']).toContain('changeset.approved');
    const decide = byId('decideChangeSet') as Operation & {
      requestBody: { content: Record<string, { schema: { properties: Record<string, Json> } }> };
    };
    expect(decide.requestBody.content['application/json']?.schema.properties['decision']?.['enum']).toEqual([
      'APPROVED',
      'REJECTED',
    ]);
    const risk = s['ChangeSet']?.properties['risk'] as { properties: Record<string, Json> };
    expect(risk.properties['level']?.['enum']).toEqual(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
  });

  it('answers apply with ApplyResult or DryRunResult, told apart by mode, and takes no body where none is needed', () => {
    const apply = byId('applyChangeSet');
    expect(jsonSchema(apply, '200')?.['oneOf']).toEqual([
      { $ref: '#/components/schemas/ApplyResult' },
      { $ref: '#/components/schemas/DryRunResult' },
    ]);
    expect(jsonSchema(apply, '200')?.['discriminator']).toMatchObject({ propertyName: 'mode' });
    for (const id of ['applyChangeSet', 'rollbackChangeSet', 'withdrawChangeSet', 'issueToken'])
      expect((byId(id) as Operation & { requestBody?: { required: boolean } }).requestBody?.required, id).toBe(false);
    expect((byId('createChangeSet') as Operation & { requestBody?: { required: boolean } }).requestBody?.required).toBe(
      true,
    );
  });

  it('documents the headers the server honours and sends', () => {
    const get = byId('getChangeSet');
    expect(get.responses['304']).toBeDefined();
    expect(get.responses['304']?.content).toBeUndefined();
    expect(get.responses['200']?.headers).toHaveProperty('ETag');
    expect(get.parameters).toContainEqual({ $ref: '#/components/parameters/IfNoneMatch' });
    expect(byId('decideChangeSet').parameters).toContainEqual({ $ref: '#/components/parameters/IfMatch' });
    expect(byId('decideChangeSet').parameters).toContainEqual({ $ref: '#/components/parameters/IdempotencyKey' });
    expect(byId('decideChangeSet').responses['200']?.headers).toHaveProperty('Idempotent-Replayed');
    expect(byId('editChangeSet').responses['412']).toBeDefined();
    expect(byId('createChangeSet').responses['429']?.headers).toHaveProperty('Retry-After');
    expect(byId('createChangeSet').responses['201']?.headers).toHaveProperty('Location');
    expect(byId('getResource').responses['200']).toBeDefined();
    expect(byId('redeemEnrolment').responses['410']).toBeDefined();
  });

  it('pages every paged list with cursor in and next_cursor out, and issues tokens in one shape', () => {
    const pages = operations().filter(({ op }) => String(jsonSchema(op, '200')?.['$ref'] ?? '').endsWith('Page'));
    expect(pages.map(({ op }) => op.operationId).sort()).toEqual(['listChangeSets', 'listDeliveries', 'listResources']);
    for (const { op } of pages) {
      const query = (op.parameters ?? []).filter((p) => p.in === 'query');
      expect(query.map((p) => p.name)).toContain('cursor');
      for (const p of query) if (p.name === 'after') expect(p.deprecated ?? p.schema?.['deprecated']).toBe(true);
      const name = String(jsonSchema(op, '200')?.['$ref']).split('/').pop() ?? '';
      expect(doc.components.schemas[name]?.['required']).toEqual(['data', 'next_cursor']);
    }
    for (const id of ['issueToken', 'redeemEnrolment'])
      expect(jsonSchema(byId(id), '201'), id).toEqual({ $ref: '#/components/schemas/TokenIssued' });
    const created = doc.components.schemas['PrincipalCreated'] as { properties: Record<string, Json> };
    expect(created.properties['token']).toEqual({
      anyOf: [{ $ref: '#/components/schemas/Token' }, { type: 'null' }],
    });
    expect(doc.components.schemas['TokenIssued']?.['properties']).toEqual({
      token: { $ref: '#/components/schemas/Token' },
    });
  });
});

describe('the response check', () => {
  it('says what is wrong with an answer the document does not allow, and nothing about one it allows', async () => {
    const check = await responseChecker(doc);
    const route = '/api/ledger/changesets/:id';
    expect(check('GET', route, 200, 'application/json', '{"id":"x"}')).toMatch(/does not match the document/);
    expect(check('GET', route, 418, 'application/json', '{}')).toMatch(/status 418 is not documented/);
    expect(check('GET', route, 304, '', 'body')).toMatch(/a body where the document says none/);
    expect(check('GET', route, 304, '', null)).toBeNull();
    expect(check('GET', route, 200, 'text/plain', 'x')).toMatch(/content type text\/plain is not documented/);
    const refusal = { statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: 'no such change-set' };
    expect(check('GET', route, 404, 'application/json', JSON.stringify(refusal))).toBeNull();
    expect(check('GET', route, 404, 'application/json', JSON.stringify({ ...refusal, code: 'NOPE' }))).toMatch(/enum/);
  });

  it('records a wrong answer of a running app in the directory the tests read', async () => {
    const before = process.env[CHECK_RESPONSES_ENV];
    const dir = mkdtempSync(join(tmpdir(), 'response-check-'));
    process.env[CHECK_RESPONSES_ENV] = dir;
    const mini = Fastify();
    // As the app: answers are serialised as they are, whatever the schema says.
    mini.setSerializerCompiler(() => (data) => JSON.stringify(data));
    try {
      await mini.register(swagger, swaggerOptions({ version: '0', serverUrl: '' }));
      addComponents(mini);
      registerResponseCheck(mini);
      const answer = Type.Object({ n: Type.Integer() }, { additionalProperties: false });
      const schema = operation('GET', {
        operationId: 'wrong',
        summary: 'A route that answers what it does not document',
        tags: ['test'],
        public: true,
        answers: { 200: { description: 'n', schema: answer } },
      });
      mini.get('/wrong', { schema }, async () => ({ n: 'one' }));
      mini.get('/right', { schema: { ...schema, operationId: 'right' } }, async () => ({ n: 1 }));
      await mini.ready();
      expect((await mini.inject({ method: 'GET', url: '/wrong' })).statusCode).toBe(200);
      expect((await mini.inject({ method: 'GET', url: '/right' })).statusCode).toBe(200);
      const found = recordedMismatches(dir).map((line) => JSON.parse(line) as Json);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ method: 'GET', route: '/wrong', status: 200 });
      expect(String(found[0]?.['problem'])).toMatch(/must be integer/);
    } finally {
      await mini.close();
      process.env[CHECK_RESPONSES_ENV] = before;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
