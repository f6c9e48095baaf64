// Fuzzing every POST and PATCH route with hostile requests: random JSON, valid bodies with
// mutations (wrong types, ~1 MB strings, ~2,000 levels of nesting, NUL, lone surrogates,
// prototype-pollution keys, huge arrays, extreme numbers), invalid JSON text, wrong content types
// and odd ids in the path, sent by several real principals.
// Properties (docs/errors.md): never a 5xx; every refusal has the error shape {statusCode, code, error,
// message, details?, fix}; a refused request leaves no row behind (docs/design.md#change-sets-and-items "Nothing is stored when
// validation fails"; docs/design.md#apply-and-rollback is the one exception: a failed ATOMIC apply is audited).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../src/core/errors.js';
import {
  APPLY_MODES,
  DECISIONS,
  OPERATION_TYPES,
  PRINCIPAL_KINDS,
  PRIORITIES,
  type Status,
} from '../../src/core/types.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';
import { trace as traceOf } from '../helpers/trace.js';

/** Requests per route; 12 routes × 175 = 2,100 requests per backend. */
const RUNS_PER_ROUTE = 175;

// ---------------------------------------------------------------------------------------------
// JSON text with parts fast-check values cannot express: literal number text and deep nesting.

/** A piece of JSON text inserted verbatim (1e308, -0, 30-digit integers, 2,000 levels of nesting). */
class Raw {
  constructor(readonly text: string) {}
}

/** Like JSON.stringify, but keeps Raw text and every own key, `__proto__` included. */
function toJsonText(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).map(
      (key) => `${JSON.stringify(key)}:${toJsonText((value as Record<string, unknown>)[key])}`,
    );
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Sets an own property even for `__proto__` (plain assignment would change the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

const MEGABYTE = 1 << 20;
const HUGE = {
  ascii: 'x'.repeat(MEGABYTE),
  multibyte: 'é'.repeat(MEGABYTE / 2),
  withNul: `${'y'.repeat(MEGABYTE / 2)}\u0000${'y'.repeat(MEGABYTE / 2)}`,
  deepArray: new Raw(`${'['.repeat(2000)}${']'.repeat(2000)}`),
  deepObject: new Raw(`${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`),
  numbers: new Raw(`[${'0,'.repeat(49_999)}0]`),
  strings: new Raw(`[${'"s",'.repeat(49_999)}"s"]`),
  objects: new Raw(`[${'{},'.repeat(19_999)}{}]`),
};

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\udc00\ud800',
  '\ufeff',
  '\u202e',
  '😀',
  'Ω≈ç√',
  '\n\r\t',
  '../../etc/passwd',
  '%00',
  '<script>alert(1)</script>',
  "'; DROP TABLE change_sets; --",
  '__proto__',
  'constructor',
  'group:admin',
  'root',
  'a'.repeat(65),
  'a'.repeat(201),
  'a'.repeat(513),
  'a'.repeat(2001),
  'a'.repeat(10_001),
];

const EXTREME_NUMBERS = [
  '1e308',
  '-1e308',
  '1e309',
  '-0',
  '-0.0',
  '5e-324',
  '1e-400',
  '123456789012345678901234567890',
  '9007199254740993',
  '-9007199254740993',
  '0.1',
  '2147483648',
  '-1',
].map((text) => new Raw(text));

const WEIRD_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  '\u0000',
  '\ud800',
  'id',
  'status',
  'version',
  'created_by',
  'agent_id',
  'decision',
  'force',
  'active',
  'groups',
  'items',
];

const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }) },
);

const weirdKey = fc.oneof(fc.constantFrom(...WEIRD_KEYS), fc.string({ unit: 'binary', maxLength: 12 }));

const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(0, 1, -1, 1.5, true, false, null, 'x', [], {}, [null], { a: 1 }) },
  { weight: 3, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.constantFrom(...EXTREME_NUMBERS) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(...Object.values(HUGE)) },
);

// ---------------------------------------------------------------------------------------------
// Valid bodies of every route: the starting point of the mutations.

const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,20}$/);
const idLike = fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/);
const CALLER_IDS = ['Agent-D', 'alice', 'olga', 'root'];

const target = {
  target_type: fc.constantFrom('CONFIG', 'WIDGET', 'SECURITY_POLICY'),
  target_id: fc.stringMatching(/^(config|ui|security)\.[a-z0-9]{1,8}$/),
};
/** Items valid on their own (CREATE with a state, UPDATE with a state, the others without). */
const itemBody = fc.oneof(
  fc.record({ operation_type: fc.constant('CREATE'), ...target, after_state: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record(
    {
      operation_type: fc.constant('UPDATE'),
      ...target,
      after_state: fc.jsonValue({ maxDepth: 2 }),
      base_version: fc.nat(3),
    },
    { requiredKeys: ['operation_type', 'target_type', 'target_id', 'after_state'] },
  ),
  fc.record(
    {
      operation_type: fc.constantFrom(...OPERATION_TYPES.slice(2)),
      ...target,
      before_state: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: ['operation_type', 'target_type', 'target_id'] },
  ),
);

const editable = {
  title: word,
  description: fc.option(word),
  agent_type: fc.constantFrom('UI', 'BACKEND', 'DESIGN', 'INTEGRATION'),
  category: fc.constantFrom('UI_LAYOUT', 'CONFIG_UPDATE', 'SECURITY', 'INFRASTRUCTURE', 'GENERAL'),
  priority: fc.constantFrom(...PRIORITIES),
  tags: fc.array(idLike, { maxLength: 3 }),
  metadata: fc.dictionary(idLike, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  approval_chain: fc.subarray(['alice', 'bob', 'sam', 'root']),
  auto_apply: fc.boolean(),
  items: fc.array(itemBody, { minLength: 1, maxLength: 3 }),
};

const createBody = fc.record(
  { change_set_id: fc.stringMatching(/^FZ-[A-Za-z0-9._-]{1,24}$/), ...editable },
  { requiredKeys: ['change_set_id', 'title', 'agent_type', 'items'] },
);
const editBody = fc.record(editable, { requiredKeys: [] });
const reasonBody = fc.record({ reason: fc.option(word) }, { requiredKeys: [] });
const principalFields = {
  kind: fc.constantFrom(...PRINCIPAL_KINDS),
  display_name: fc.option(word),
  email: fc.option(fc.constantFrom('fuzz@example.com', 'a.b@example.org')),
  slack_id: fc.option(idLike),
  groups: fc.subarray(['fuzzers', 'readers', 'operator']),
  risk: fc.option(fc.integer({ min: 0, max: 100 })),
};

// ---------------------------------------------------------------------------------------------
// Routes and what their requests are made of.

type IdPool = 'changeSets' | 'principals';

interface FuzzRoute {
  method: 'POST' | 'PATCH';
  path: string;
  ids?: IdPool;
  valid: fc.Arbitrary<unknown>;
  callers: readonly string[];
}

const CHANGE_SET_CALLERS = ['Agent-D', 'Agent-D', 'alice', 'olga', 'root'];
const ADMIN_CALLERS = ['root', 'root', 'root', 'Agent-D', 'alice'];

const ROUTES: readonly FuzzRoute[] = [
  { method: 'POST', path: '/changesets', valid: createBody, callers: CHANGE_SET_CALLERS },
  { method: 'PATCH', path: '/changesets/:id', ids: 'changeSets', valid: editBody, callers: CHANGE_SET_CALLERS },
  {
    method: 'POST',
    path: '/changesets/:id/submit',
    ids: 'changeSets',
    valid: fc.constant({}),
    callers: CHANGE_SET_CALLERS,
  },
  ...(['withdraw', 'reopen', 'close'] as const).map((action) => ({
    method: 'POST' as const,
    path: `/changesets/:id/${action}`,
    ids: 'changeSets' as const,
    valid: reasonBody,
    callers: CHANGE_SET_CALLERS,
  })),
  {
    method: 'POST',
    path: '/changesets/:id/approve',
    ids: 'changeSets',
    valid: fc.record(
      { decision: fc.constantFrom(...DECISIONS), reason: fc.option(word) },
      { requiredKeys: ['decision'] },
    ),
    callers: CHANGE_SET_CALLERS,
  },
  {
    method: 'POST',
    path: '/changesets/:id/apply',
    ids: 'changeSets',
    valid: fc.record({ mode: fc.constantFrom(...APPLY_MODES) }, { requiredKeys: [] }),
    callers: CHANGE_SET_CALLERS,
  },
  {
    method: 'POST',
    path: '/changesets/:id/rollback',
    ids: 'changeSets',
    valid: fc.record({ reason: fc.option(word), force: fc.boolean() }, { requiredKeys: [] }),
    callers: CHANGE_SET_CALLERS,
  },
  {
    method: 'POST',
    path: '/principals',
    valid: fc.record(
      { id: fc.stringMatching(/^fz-[A-Za-z0-9._-]{1,20}$/), ...principalFields },
      { requiredKeys: ['id'] },
    ),
    callers: ADMIN_CALLERS,
  },
  {
    method: 'PATCH',
    path: '/principals/:id',
    ids: 'principals',
    valid: fc.record({ ...principalFields, active: fc.boolean() }, { requiredKeys: [] }),
    callers: ADMIN_CALLERS,
  },
  {
    method: 'POST',
    path: '/principals/:id/tokens',
    ids: 'principals',
    valid: fc.record({ name: fc.option(word) }, { requiredKeys: [] }),
    callers: ADMIN_CALLERS,
  },
];

/** References the requests aim at, filled in once the database is seeded. */
const pools: Record<IdPool, string[]> = { changeSets: [], principals: [] };

/** Path segments as they go on the wire (already percent-encoded, or deliberately not). */
const ODD_SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '%00',
  'CS-%00',
  '%2F',
  'a%2Fb',
  '%ff',
  '%E0%A4%A',
  '%ED%A0%80',
  '%F0%9F%98%80',
  '%E2%98%83',
  '%20',
  '%5F%5Fproto%5F%5F',
  '__proto__',
  'constructor',
  'null',
  'undefined',
  'x'.repeat(64),
  'x'.repeat(65),
  'x'.repeat(101),
  'x'.repeat(5000),
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
];

function encodeSegment(raw: string): string {
  try {
    return encodeURIComponent(raw);
  } catch {
    return '%ED%A0%80'; // a lone surrogate has no UTF-8: send its CESU bytes instead
  }
}

function segmentArb(pool: IdPool): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.nat().map((n) => encodeSegment(pools[pool][n % pools[pool].length]!)) },
    { weight: 3, arbitrary: fc.constantFrom(...ODD_SEGMENTS) },
    { weight: 1, arbitrary: fc.uuid().map(encodeSegment) },
    {
      weight: 2,
      arbitrary: fc
        .string({ unit: 'binary', minLength: 1, maxLength: 40 })
        .filter((s) => !CALLER_IDS.includes(s))
        .map(encodeSegment),
    },
  );
}

interface Body {
  kind: string;
  contentType?: string;
  payload?: string | Buffer;
}

const json = (kind: string, value: unknown): Body => ({
  kind,
  contentType: 'application/json',
  payload: toJsonText(value),
});

const mutation = fc.record({
  kind: fc.constantFrom('set', 'set', 'set', 'add', 'add', 'delete', 'wrap'),
  at: fc.nat(),
  key: weirdKey,
  value: weirdValue,
});

type Mutation = { kind: string; at: number; key: string; value: unknown };
type Container = Record<string, unknown> | unknown[];

const isContainer = (value: unknown): value is Container =>
  value !== null && typeof value === 'object' && !(value instanceof Raw);

/** A deep copy that keeps Raw pieces and `__proto__` keys (shared constants must never be mutated). */
function copy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copy);
  if (!isContainer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) setOwn(out, key, copy((value as Record<string, unknown>)[key]));
  return out;
}

/** Every path into a JSON value (the root is []). */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const paths = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) paths.push(...pathsOf(v, [...prefix, i]));
  } else if (isContainer(value))
    for (const key of Object.keys(value))
      paths.push(...pathsOf((value as Record<string, unknown>)[key], [...prefix, key]));
  return paths;
}

const childOf = (node: unknown, key: string | number): unknown => (node as Record<string | number, unknown>)[key];

function applyMutation(body: unknown, m: Mutation): unknown {
  if (m.kind === 'wrap') return m.at % 2 ? [body] : { body };
  const path = pathsOf(body)[m.at % pathsOf(body).length]!;
  if (path.length === 0) {
    if (m.kind === 'set') return copy(m.value);
    if (m.kind === 'delete') return {};
  }
  const parent = path.slice(0, -1).reduce(childOf, body) as Container;
  const last = path.at(-1);
  if (m.kind === 'set' && last !== undefined) {
    if (Array.isArray(parent)) parent[last as number] = copy(m.value);
    else setOwn(parent, String(last), copy(m.value));
  } else if (m.kind === 'delete' && last !== undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[String(last)];
  } else if (m.kind === 'add') {
    const node = path.reduce(childOf, body);
    const target = isContainer(node) && !Array.isArray(node) ? node : isContainer(parent) ? parent : null;
    if (target && !Array.isArray(target)) setOwn(target, m.key, copy(m.value));
    else if (Array.isArray(target)) target.push(copy(m.value));
  }
  return body;
}

const INVALID_JSON_TEXTS = [
  '',
  ' ',
  'undefined',
  'NaN',
  '{',
  '}',
  '[',
  '{"a":1,}',
  '[1,2,]',
  "{'a':1}",
  '{a:1}',
  '{"a":1}{"b":2}',
  '{"a":1} x',
  '/* comment */{}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":01}',
  '{"a":1.}',
  '{"a":"\\x00"}',
  '{"a":"\\ud800"}',
  '{"reason":"\\u0000"}',
  '["\\uDFFF\\uD800"]',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  '{"a":{"__proto__":[]}}',
  '['.repeat(2000),
  '{"a":'.repeat(2000),
  '\u0000',
  '1e999',
  'null',
  '[]',
  '"x"',
  '\ufeff',
];

const BAD_UTF8 = [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xc0, 0xaf]];

function invalidJson(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  const text = valid.map(toJsonText);
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(...INVALID_JSON_TEXTS).map((payload) => json('invalid JSON', new Raw(payload))),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(text, fc.nat())
        .map(([t, n]) => json('truncated JSON', new Raw(t.slice(0, n % Math.max(1, t.length))))),
    },
    { weight: 1, arbitrary: text.map((t) => json('trailing comma', new Raw(t.replace(/([}\]])$/, ',$1')))) },
    { weight: 1, arbitrary: text.map((t) => json('BOM', new Raw(`\ufeff${t}`))) },
    {
      weight: 2,
      arbitrary: fc.tuple(text, fc.nat(), fc.constantFrom(...BAD_UTF8)).map(([t, n, bad]): Body => {
        const bytes = Buffer.from(t);
        const at = n % (bytes.length + 1);
        const payload = Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]);
        return { kind: 'non-UTF-8 bytes', contentType: 'application/json', payload };
      }),
    },
  );
}

const CONTENT_TYPES = [
  undefined,
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'application/octet-stream',
  'application/json-patch+json',
  'application/merge-patch+json',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/jsonx',
  '*/*',
  ';',
];

function wrongContentType(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  return fc.tuple(valid, fc.constantFrom(...CONTENT_TYPES), fc.boolean()).map(
    ([value, contentType, form]): Body => ({
      kind: `content-type ${contentType ?? '(none)'}`,
      ...(contentType === undefined ? {} : { contentType }),
      payload: form ? 'title=x&items=1&__proto__[admin]=true' : toJsonText(value),
    }),
  );
}

function bodyArb(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  const clean = valid.map((value) => JSON.parse(JSON.stringify(value)) as unknown);
  return fc.oneof(
    { weight: 2, arbitrary: clean.map((value) => json('valid', value)) },
    {
      weight: 8,
      arbitrary: fc
        .tuple(clean, fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([value, ms]) => json(`mutated (${ms.map((m) => m.kind).join(', ')})`, ms.reduce(applyMutation, value))),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }).map((v) => json('random JSON', v)) },
    {
      weight: 1,
      arbitrary: fc
        .object({ key: weirdKey, values: [weirdValue], maxDepth: 2, maxKeys: 6 })
        .map((v) => json('random object', v)),
    },
    { weight: 3, arbitrary: invalidJson(clean) },
    { weight: 2, arbitrary: wrongContentType(clean) },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'no body' }) },
  );
}

const extraHeaders = (method: string): fc.Arbitrary<Record<string, string>> =>
  fc.record(
    {
      'idempotency-key': fc.oneof(
        fc.uuid(),
        fc.constant('fz-shared-key'),
        fc.constantFrom(' ', 'é', 'x'.repeat(256), 'a b'),
      ),
      ...(method === 'PATCH'
        ? { 'if-match': fc.constantFrom('"1"', 'W/"2"', '*', '"999"', 'garbage', '"-1"', '"99999999999999999999"') }
        : {}),
    },
    { requiredKeys: [] },
  );

/** A request as fast-check prints it: huge strings cut, NUL and lone surrogates escaped. */
class FuzzRequest {
  constructor(
    readonly caller: string,
    readonly method: 'POST' | 'PATCH',
    readonly url: string,
    readonly headers: Record<string, string>,
    readonly body: Body,
  ) {}

  [fc.toStringMethod](): string {
    const headers = {
      ...this.headers,
      ...(this.body.contentType === undefined ? {} : { 'content-type': this.body.contentType }),
    };
    return `${this.caller}: ${this.method} ${cut(this.url)} [${this.body.kind}] headers ${cut(JSON.stringify(headers))} body ${payloadPreview(this.body.payload)}`;
  }
}

function cut(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, 200)}…(${text.length} chars)…${text.slice(-60)}`;
}

function payloadPreview(payload: string | Buffer | undefined): string {
  if (payload === undefined) return '(none)';
  if (Buffer.isBuffer(payload)) return `<${payload.length} bytes> ${cut(JSON.stringify(payload.toString('latin1')))}`;
  return cut(JSON.stringify(payload));
}

function requestArb(route: FuzzRoute): fc.Arbitrary<FuzzRequest> {
  const segment = route.ids ? segmentArb(route.ids) : fc.constant('');
  return fc
    .tuple(fc.constantFrom(...route.callers), segment, extraHeaders(route.method), bodyArb(route.valid))
    .map(
      ([caller, id, headers, body]) =>
        new FuzzRequest(caller, route.method, `/api/ledger${route.path.replace(':id', id)}`, headers, body),
    );
}

// ---------------------------------------------------------------------------------------------
// Observations.

/** docs/design.md#apply-and-rollback: a failed ATOMIC apply is audited (and announced), and that bumps the change-set's version. */
const WRITTEN_BY_A_FAILED_APPLY = new Set(['audit_entries', 'outbox_events', 'change_set_versions']);

const ERROR_KEYS = new Set(['statusCode', 'code', 'error', 'message', 'details', 'fix']);

/** What is wrong with an error response (docs/errors.md: {statusCode, code, error, message, details?, fix}). */
function errorShapeProblems(status: number, text: string): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return ['the body is not JSON'];
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return ['the body is not an object'];
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  if (b['statusCode'] !== status) problems.push(`statusCode is ${String(b['statusCode'])}, not ${status}`);
  const entry = typeof b['code'] === 'string' ? ERROR_CATALOG[b['code'] as keyof typeof ERROR_CATALOG] : undefined;
  if (!entry) problems.push(`code ${String(b['code'])} is not in the catalog`);
  else if (entry.status !== status) problems.push(`code ${String(b['code'])} means ${entry.status}, not ${status}`);
  if (typeof b['error'] !== 'string') problems.push('error is not a string');
  if (typeof b['message'] !== 'string' || b['message'] === '') problems.push('message is not a non-empty string');
  if (b['details'] !== undefined && !Array.isArray(b['details'])) problems.push('details is not an array');
  if (typeof b['fix'] !== 'string' || b['fix'] === '') problems.push('fix is not a non-empty string');
  const extra = Object.keys(b).filter((key) => !ERROR_KEYS.has(key));
  if (extra.length) problems.push(`unexpected keys ${extra.join(', ')}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------

describeEachBackend('HTTP fuzzing of every POST and PATCH route', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  const bearer: Record<string, string> = {};
  const stats = { sent: 0, byStatus: new Map<number, number>(), startedAt: 0 };

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    for (const id of CALLER_IDS) bearer[id] = (await f.engine.issueToken(null, id)).token;
    pools.changeSets = [];
    pools.principals = [];
    const creator = f.p['Agent-D']!;
    const statuses: Status[] = ['DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'APPLIED', 'REJECTED'];
    for (const status of [...statuses, ...statuses]) {
      let cs = await f.engine.create(creator, configChange());
      if (status === 'REJECTED') cs = await f.engine.close(creator, cs.id);
      if (status !== 'DRAFT' && status !== 'REJECTED') cs = await f.engine.submit(creator, cs.id);
      if (status === 'APPROVED' || status === 'APPLIED')
        cs = await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
      if (status === 'APPLIED') await f.engine.apply(creator, cs.id, { mode: 'ATOMIC' });
      pools.changeSets.push(cs.change_set_id, cs.id);
    }
    // Principals the fuzzer may change at will: never one of the callers.
    for (let i = 1; i <= 4; i++) {
      const id = uniqueId('fz-target');
      await f.engine.createPrincipal(
        null,
        { id, kind: 'service', display_name: id, email: null, slack_id: null, groups: [], risk: null, active: true },
        { withToken: false },
      );
      pools.principals.push(id);
    }
    stats.startedAt = performance.now();
  });

  afterAll(async () => {
    const seconds = ((performance.now() - stats.startedAt) / 1000).toFixed(1);
    const histogram = [...stats.byStatus.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
    console.info(`[${backend.name}] fuzzed ${stats.sent} requests in ${seconds}s: ${histogram.join(' ')}`);
    await app.close();
    await f.db.close();
  });

  const trace = () => traceOf(f.db);

  async function send(request: FuzzRequest) {
    const { body } = request;
    return app.inject({
      method: request.method,
      url: request.url,
      headers: {
        authorization: `Bearer ${bearer[request.caller]}`,
        ...request.headers,
        ...(body.contentType === undefined ? {} : { 'content-type': body.contentType }),
      },
      ...(body.payload === undefined ? {} : { payload: body.payload }),
    });
  }

  let lastTrace: Record<string, unknown> | null = null;

  /** The three properties, checked on one request; throws with the request and the answer. */
  async function check(request: FuzzRequest): Promise<void> {
    // Nothing else writes between two requests: after a refusal, its "after" is the next "before".
    const before = lastTrace ?? (await trace());
    lastTrace = null;
    const res = await send(request);
    stats.sent++;
    stats.byStatus.set(res.statusCode, (stats.byStatus.get(res.statusCode) ?? 0) + 1);
    if (res.statusCode < 400) return;
    const answer = `${request[fc.toStringMethod]()}\n  → ${res.statusCode} ${cut(res.body)}`;
    const problems = errorShapeProblems(res.statusCode, res.body);
    if (res.statusCode >= 500) problems.unshift(`a ${res.statusCode} answer`);
    let code: unknown;
    try {
      code = res.json().code;
    } catch {}
    if (problems.length) throw new Error(`${problems.join('; ')}:\n  ${answer}`);
    const after = await trace();
    lastTrace = after;
    const allowed = code === 'APPLY_FAILED' ? WRITTEN_BY_A_FAILED_APPLY : new Set<string>();
    const changed = Object.keys(before).filter((key) => !allowed.has(key) && before[key] !== after[key]);
    if (changed.length) {
      const what = changed.map((key) => `${key} ${String(before[key])} → ${String(after[key])}`).join(', ');
      throw new Error(`a refused request left a trace (${what}):\n  ${answer}`);
    }
  }

  for (const route of ROUTES) {
    it(`${route.method} ${route.path}: never a 5xx, always the error shape, no trace when refused`, async () => {
      await fc.assert(fc.asyncProperty(requestArb(route), check), { numRuns: RUNS_PER_ROUTE });
    });
  }

  // Requests the fuzzer (and probing around it) found answered with a 5xx or without the error
  // shape, written out so that each bug fails on its own, every run, until it is fixed.
  describe('regressions found by fuzzing', () => {
    const nul = '\u0000';
    const lone = '\ud800';
    const json1e999 = new Raw(toJsonText(configChange()).replace('"value":1', '"value":1e999'));
    const key = (k: string) => ({ 'idempotency-key': k });
    /** [what, caller, "METHOD path" ($DRAFT: a fresh draft of the creator, $P: a principal), body (a Raw is sent as is), headers] */
    // biome-ignore format: a table of requests
    const REGRESSIONS: [string, string, string, object?, Record<string, string>?][] = [
      ['NUL in a change-set id (submit)',         'Agent-D', 'POST /changesets/%00/submit'],
      ['NUL in a change-set id (edit)',           'Agent-D', 'PATCH /changesets/%00', { title: 'x' }],
      ['NUL in a change-set id (read)',           'Agent-D', 'GET /changesets/%00'],
      ['NUL in a resource key',                   'Agent-D', 'GET /resources/%00/x'],
      ['NUL in a token id',                       'root',    'DELETE /tokens/%00'],
      ['NUL in a list filter',                    'Agent-D', 'GET /changesets?q=%00'],
      ['a lone surrogate in a title',             'Agent-D', 'POST /changesets', configChange(undefined, { title: `x${lone}` })],
      ['a lone surrogate in metadata',            'Agent-D', 'POST /changesets', configChange(undefined, { metadata: { a: lone } })],
      ['a lone surrogate in a reason',            'Agent-D', 'POST /changesets/$DRAFT/close', { reason: lone }],
      ['NUL in a display_name',                   'root',    'POST /principals', { id: uniqueId('fz'), display_name: nul }],
      ['a lone surrogate in a display_name',      'root',    'POST /principals', { id: uniqueId('fz'), display_name: lone }],
      ['NUL in a slack_id (edit)',                'root',    'PATCH /principals/$P', { slack_id: `a${nul}` }],
      ['NUL in a token name',                     'root',    'POST /principals/$P/tokens', { name: `a${nul}` }],
      ['Idempotency-Key + 1e999 in after_state',  'Agent-D', 'POST /changesets', json1e999, key('fz-regression-1')],
      ['Idempotency-Key + 1e999 to submit',       'Agent-D', 'POST /changesets/$DRAFT/submit', new Raw('1e999'), key('fz-regression-2')],
      ['a path parameter over 100 characters',    'Agent-D', `POST /changesets/${'x'.repeat(101)}/close`, {}],
      ['a malformed percent-escape in the path',  'Agent-D', 'POST /changesets/%E0%A4%A/close', {}],
    ];
    for (const [what, caller, route, body, headers] of REGRESSIONS) {
      it(`answers ${what} with a 4xx in the error shape and stores nothing`, async () => {
        const [method, path] = route.split(' ') as ['GET' | 'POST' | 'PATCH' | 'DELETE', string];
        const draft = path.includes('$DRAFT') ? await f.engine.create(f.p['Agent-D']!, configChange()) : null;
        const before = await trace();
        const res = await app.inject({
          method,
          url: `/api/ledger${path.replace('$DRAFT', draft?.id ?? '').replace('$P', pools.principals[0]!)}`,
          headers: {
            authorization: `Bearer ${bearer[caller]}`,
            ...(body instanceof Raw ? { 'content-type': 'application/json' } : {}),
            ...headers,
          },
          ...(body === undefined ? {} : { payload: body instanceof Raw ? body.text : body }),
        });
        expect(res.statusCode).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
        expect(errorShapeProblems(res.statusCode, res.body)).toEqual([]);
        expect(await trace()).toEqual(before);
      });
    }
  });
});
