import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import {
  DEFAULT_LIMITS,
  ID_PATTERN,
  type ValidationIssue,
  validateCreateChangeSet,
  validateEditChangeSet,
  validationError,
} from '../../src/core/validate-change-set.js';

// biome-ignore lint/suspicious/noExplicitAny: test bodies are deliberately untyped junk-capable JSON
type AnyBody = any;

const limits = DEFAULT_LIMITS;

const item = (fields: AnyBody = {}): AnyBody => ({
  operation_type: 'CREATE',
  target_type: 'config',
  target_id: 'security.firewall',
  after_state: { enabled: true },
  ...fields,
});

const body = (fields: AnyBody = {}): AnyBody => ({
  change_set_id: 'cs-1',
  title: 'Open port 443',
  agent_type: 'INFRA',
  items: [item()],
  ...fields,
});

function createIssues(input: unknown, at = limits): ValidationIssue[] {
  const result = validateCreateChangeSet(input, at);
  if (result.ok) throw new Error(`expected issues, got ${JSON.stringify(result.value)}`);
  return result.issues;
}

function createValue(input: unknown) {
  const result = validateCreateChangeSet(input, limits);
  if (!result.ok) throw new Error(`expected a valid body, got ${JSON.stringify(result.issues)}`);
  return result.value;
}

// A field of fixed values also lists them (`allowed`; its exact content is checked below).
const one = (path: string, message: RegExp) => [
  {
    path,
    message: expect.stringMatching(message),
    ...(/one of: /.test(message.source) ? { allowed: expect.any(Array) } : {}),
  },
];

/** A chain 0 ← 1 ← … ← n-1: each item depends on the one before it. */
const chain = (n: number): AnyBody[] =>
  Array.from({ length: n }, (_, i) =>
    item({ key: `k${i}`, target_id: `t.${i}`, after_state: { i }, depends_on: i > 0 ? [`k${i - 1}`] : [] }),
  );

function deeplyNested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

describe('validateCreateChangeSet', () => {
  it('fills in the defaults of a minimal body', () => {
    expect(createValue(body())).toEqual({
      change_set_id: 'cs-1',
      title: 'Open port 443',
      description: null,
      agent_type: 'INFRA',
      category: 'GENERAL',
      priority: 'NORMAL',
      tags: [],
      metadata: {},
      approval_chain: [],
      auto_apply: false,
      items: [
        {
          key: '0',
          operation_type: 'CREATE',
          target_type: 'config',
          target_id: 'security.firewall',
          after_state: { enabled: true },
          depends_on: [],
        },
      ],
    });
    expect(createValue(body())).not.toHaveProperty('agent_id');
  });

  it('keeps every field of a complete body as given', () => {
    const complete = body({
      description: 'HTTPS for the API',
      agent_id: 'agent.infra-1',
      category: 'SECURITY',
      priority: 'CRITICAL',
      tags: ['net', 'tls'],
      metadata: { ticket: 'OPS-1', nested: [1, { a: null }] },
      approval_chain: ['alice', 'bob'],
      auto_apply: true,
      items: [
        item({ key: 'rule', before_state: null, base_version: 0 }),
        item({
          key: 'patch',
          operation_type: 'UPDATE',
          after_state: { enabled: false },
          diff_data: [
            { op: 'add', path: '/ports/-', value: 443 },
            { op: 'remove', path: '/legacy' },
            { op: 'replace', path: '', value: {} },
            { op: 'move', path: '/a~1b', from: '/c~0d' },
            { op: 'copy', path: '/x', from: '/y' },
            { op: 'test', path: '/enabled', value: true },
          ],
          base_version: 7,
          depends_on: ['rule'],
        }),
        item({ key: 'gone', operation_type: 'DELETE', after_state: undefined, depends_on: ['rule', 'patch'] }),
        item({ key: 'reset', operation_type: 'RESET' }),
        item({ key: 'reset-bare', operation_type: 'RESET', after_state: undefined }),
        item({ key: 'clear', operation_type: 'CLEAR', after_state: undefined }),
      ],
    });
    const { items, ...rest } = complete;
    const value = createValue(complete);
    expect(value).toMatchObject(rest);
    expect(value.items.map((i) => i.key)).toEqual(['rule', 'patch', 'gone', 'reset', 'reset-bare', 'clear']);
    expect(value.items[1]).toEqual({ ...items[1], depends_on: ['rule'] });
    expect(value.items[2]).not.toHaveProperty('after_state');
  });

  it('accepts a null description as null', () => {
    expect(createValue(body({ description: null })).description).toBeNull();
  });

  it('accepts UPDATE with only diff_data, and an explicit key that is no other item’s index', () => {
    const value = createValue(
      body({
        items: [
          item({ operation_type: 'UPDATE', after_state: undefined, diff_data: [{ op: 'remove', path: '/a' }] }),
          item({ key: '7' }),
        ],
      }),
    );
    expect(value.items.map((i) => i.key)).toEqual(['0', '7']);
  });

  const topLevel: Array<[string, AnyBody, string, RegExp]> = [
    ['an unknown field', { colour: 'red' }, 'colour', /^unknown field$/],
    ['an unknown field with an odd name', { 'a b': 1 }, '["a b"]', /^unknown field$/],
    ['a missing change_set_id', { change_set_id: undefined }, 'change_set_id', /is required/],
    ['a numeric change_set_id', { change_set_id: 42 }, 'change_set_id', /must be a string/],
    ['a change_set_id with a space', { change_set_id: 'cs 1' }, 'change_set_id', /1–64 characters of A–Z/],
    ['a 65-character change_set_id', { change_set_id: 'c'.repeat(65) }, 'change_set_id', /1–64 characters/],
    ['an empty change_set_id', { change_set_id: '' }, 'change_set_id', /1–64 characters/],
    ['a missing title', { title: undefined }, 'title', /is required/],
    ['a blank title', { title: ' \t ' }, 'title', /must not be blank/],
    ['a 201-character title', { title: 't'.repeat(201) }, 'title', /at most 200 characters/],
    ['a numeric title', { title: 7 }, 'title', /must be a string/],
    ['a 10,001-character description', { description: 'd'.repeat(10_001) }, 'description', /at most 10000/],
    ['a numeric description', { description: 5 }, 'description', /must be a string/],
    ['a malformed agent_id', { agent_id: 'agent/1' }, 'agent_id', /1–64 characters of A–Z/],
    ['a missing agent_type', { agent_type: undefined }, 'agent_type', /is required/],
    ['a blank agent_type', { agent_type: '' }, 'agent_type', /must not be blank/],
    ['a 65-character agent_type', { agent_type: 'A'.repeat(65) }, 'agent_type', /at most 64 characters/],
    ['a lower-case category', { category: 'security' }, 'category', /upper-case word/],
    ['a category starting with a digit', { category: '1ST' }, 'category', /upper-case word/],
    ['a 65-character category', { category: 'C'.repeat(65) }, 'category', /upper-case word/],
    ['an unknown priority', { priority: 'URGENT' }, 'priority', /one of: LOW, NORMAL, HIGH, CRITICAL/],
    ['tags that are not an array', { tags: 'net' }, 'tags', /must be an array/],
    ['51 tags', { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, 'tags', /at most 50/],
    ['an empty tag', { tags: ['ok', ''] }, 'tags[1]', /1–64 characters/],
    ['a 65-character tag', { tags: ['x'.repeat(65)] }, 'tags[0]', /1–64 characters/],
    ['a numeric tag', { tags: [1] }, 'tags[0]', /must be a string/],
    ['metadata that is an array', { metadata: [] }, 'metadata', /must be a JSON object/],
    ['metadata that is a string', { metadata: 'x' }, 'metadata', /must be a JSON object/],
    ['metadata holding a non-finite number', { metadata: { a: { b: Infinity } } }, 'metadata.a.b', /finite/],
    ['101 approvers', { approval_chain: Array.from({ length: 101 }, (_, i) => `p${i}`) }, 'approval_chain', /100/],
    ['a malformed approver id', { approval_chain: ['alice', 'bob smith'] }, 'approval_chain[1]', /A–Z/],
    ['a string auto_apply', { auto_apply: 'yes' }, 'auto_apply', /must be true or false/],
    ['missing items', { items: undefined }, 'items', /is required/],
    ['items that are not an array', { items: 'x' }, 'items', /must be an array of items/],
    ['no items', { items: [] }, 'items', /at least 1 item/],
  ];
  it.each(topLevel)('reports %s at its path', (_, fields, path, message) => {
    expect(createIssues(body(fields))).toEqual(one(path, message));
  });

  it('reports more items than limits.max_items, naming the limit', () => {
    const issues = createIssues(body({ items: [item(), item(), item()] }), { max_items: 2 });
    expect(issues).toEqual(one('items', /at most 2 items \(limits\.max_items\)/));
  });

  const itemRules: Array<[string, AnyBody, string, RegExp]> = [
    ['an item that is not an object', 5, 'items[0]', /must be an object/],
    ['an item that is null', null, 'items[0]', /must be an object/],
    ['an unknown item field', item({ colour: 'red' }), 'items[0].colour', /^unknown field$/],
    ['an empty key', item({ key: '' }), 'items[0].key', /1–128 characters/],
    ['a 129-character key', item({ key: 'k'.repeat(129) }), 'items[0].key', /1–128 characters/],
    ['a numeric key', item({ key: 7 }), 'items[0].key', /must be a string/],
    ['a missing operation_type', item({ operation_type: undefined }), 'items[0].operation_type', /is required/],
    [
      'an unknown operation_type',
      item({ operation_type: 'PATCH' }),
      'items[0].operation_type',
      /one of: CREATE, UPDATE, DELETE, RESET, CLEAR/,
    ],
    ['a missing target_type', item({ target_type: undefined }), 'items[0].target_type', /is required/],
    ['an empty target_type', item({ target_type: '' }), 'items[0].target_type', /1–128 characters/],
    ['a 129-character target_type', item({ target_type: 'x'.repeat(129) }), 'items[0].target_type', /1–128/],
    ['a missing target_id', item({ target_id: undefined }), 'items[0].target_id', /is required/],
    ['an empty target_id', item({ target_id: '' }), 'items[0].target_id', /1–512 characters/],
    ['a 513-character target_id', item({ target_id: 'x'.repeat(513) }), 'items[0].target_id', /1–512 characters/],
    ['CREATE without after_state', item({ after_state: undefined }), 'items[0].after_state', /required for CREATE/],
    [
      'CREATE with diff_data',
      item({ diff_data: [{ op: 'remove', path: '/a' }] }),
      'items[0].diff_data',
      /not allowed for CREATE/,
    ],
    [
      'UPDATE with neither state',
      item({ operation_type: 'UPDATE', after_state: undefined }),
      'items[0].after_state',
      /required for UPDATE unless diff_data/,
    ],
    ['DELETE with after_state', item({ operation_type: 'DELETE' }), 'items[0].after_state', /not allowed for DELETE/],
    [
      'DELETE with diff_data',
      item({ operation_type: 'DELETE', after_state: undefined, diff_data: [{ op: 'remove', path: '/a' }] }),
      'items[0].diff_data',
      /not allowed for DELETE/,
    ],
    ['CLEAR with after_state', item({ operation_type: 'CLEAR' }), 'items[0].after_state', /not allowed for CLEAR/],
    [
      'CLEAR with diff_data',
      item({ operation_type: 'CLEAR', after_state: undefined, diff_data: [{ op: 'remove', path: '/a' }] }),
      'items[0].diff_data',
      /not allowed for CLEAR/,
    ],
    [
      'RESET with diff_data',
      item({ operation_type: 'RESET', diff_data: [{ op: 'remove', path: '/a' }] }),
      'items[0].diff_data',
      /not allowed for RESET/,
    ],
    [
      'before_state holding a function',
      item({ before_state: { f: () => 1 } }),
      'items[0].before_state.f',
      /JSON value, not function/,
    ],
    [
      'after_state that is undefined deep inside',
      item({ after_state: { a: [1, undefined] } }),
      'items[0].after_state.a[1]',
      /JSON value, not undefined/,
    ],
    [
      'after_state holding a Date',
      item({ after_state: { at: new Date(0) } }),
      'items[0].after_state.at',
      /plain JSON object/,
    ],
    ['after_state holding NaN', item({ after_state: [{ n: NaN }] }), 'items[0].after_state[0].n', /finite number/],
    ['a negative base_version', item({ base_version: -1 }), 'items[0].base_version', /non-negative integer/],
    ['a fractional base_version', item({ base_version: 1.5 }), 'items[0].base_version', /non-negative integer/],
    ['a string base_version', item({ base_version: '3' }), 'items[0].base_version', /non-negative integer/],
    ['an unsafe base_version', item({ base_version: 2 ** 53 }), 'items[0].base_version', /non-negative integer/],
    ['depends_on that is not an array', item({ depends_on: 'a' }), 'items[0].depends_on', /array of item keys/],
    ['a numeric depends_on entry', item({ depends_on: [1] }), 'items[0].depends_on[0]', /must be a string/],
    ['an unknown dependency', item({ depends_on: ['nope'] }), 'items[0].depends_on[0]', /unknown item key "nope"/],
    [
      'a self-dependency by default key',
      item({ depends_on: ['0'] }),
      'items[0].depends_on[0]',
      /cannot depend on itself/,
    ],
    [
      'a self-dependency by explicit key',
      item({ key: 'me', depends_on: ['me'] }),
      'items[0].depends_on[0]',
      /cannot depend on itself/,
    ],
  ];
  it.each(itemRules)('reports %s at its path', (_, raw, path, message) => {
    expect(createIssues(body({ items: [raw] }))).toEqual(one(path, message));
  });

  const patch = (diff_data: AnyBody) => item({ operation_type: 'UPDATE', after_state: undefined, diff_data });
  const patchRules: Array<[string, AnyBody, string, RegExp]> = [
    ['an empty patch', [], 'items[0].diff_data', /non-empty array of JSON Patch/],
    ['a patch that is an object', { op: 'add' }, 'items[0].diff_data', /non-empty array of JSON Patch/],
    ['an operation that is not an object', [5], 'items[0].diff_data[0]', /JSON Patch operation object/],
    [
      'an unknown op',
      [{ op: 'merge', path: '/a' }],
      'items[0].diff_data[0].op',
      /one of: add, remove, replace, move, copy, test/,
    ],
    ['a missing path', [{ op: 'remove' }], 'items[0].diff_data[0].path', /is required/],
    ['a path without a leading slash', [{ op: 'remove', path: 'a' }], 'items[0].diff_data[0].path', /JSON Pointer/],
    ['a path with a bad ~ escape', [{ op: 'remove', path: '/a~2' }], 'items[0].diff_data[0].path', /JSON Pointer/],
    ['a numeric path', [{ op: 'remove', path: 1 }], 'items[0].diff_data[0].path', /must be a string/],
    ['add without value', [{ op: 'add', path: '/a' }], 'items[0].diff_data[0].value', /required for add/],
    ['replace without value', [{ op: 'replace', path: '/a' }], 'items[0].diff_data[0].value', /required for replace/],
    ['test without value', [{ op: 'test', path: '/a' }], 'items[0].diff_data[0].value', /required for test/],
    ['move without from', [{ op: 'move', path: '/a' }], 'items[0].diff_data[0].from', /is required/],
    [
      'copy with a malformed from',
      [{ op: 'copy', path: '/a', from: 'b' }],
      'items[0].diff_data[0].from',
      /JSON Pointer/,
    ],
    [
      'an unknown operation field',
      [{ op: 'remove', path: '/a', note: 'x' }],
      'items[0].diff_data[0].note',
      /^unknown field$/,
    ],
    [
      'a value on remove',
      [{ op: 'remove', path: '/a', value: 1 }],
      'items[0].diff_data[0].value',
      /not allowed for remove/,
    ],
    [
      'a from on add',
      [{ op: 'add', path: '/a', value: 1, from: '/b' }],
      'items[0].diff_data[0].from',
      /not allowed for add/,
    ],
    [
      'a non-finite value',
      [{ op: 'add', path: '/a', value: Infinity }],
      'items[0].diff_data[0].value',
      /finite number/,
    ],
    [
      'a second bad operation',
      [
        { op: 'remove', path: '/a' },
        { op: 'add', path: '/b' },
      ],
      'items[0].diff_data[1].value',
      /required for add/,
    ],
  ];
  it.each(patchRules)('reports %s in diff_data at its path', (_, diff, path, message) => {
    expect(createIssues(body({ items: [patch(diff)] }))).toEqual(one(path, message));
  });

  it('accepts a value of null for add, and the whole-document pointer', () => {
    expect(createValue(body({ items: [patch([{ op: 'add', path: '', value: null }])] })).items[0]!.diff_data).toEqual([
      { op: 'add', path: '', value: null },
    ]);
  });

  describe('keys', () => {
    it('reports a duplicate explicit key at the later item', () => {
      const items = [item({ key: 'a' }), item({ key: 'b' }), item({ key: 'a' })];
      expect(createIssues(body({ items }))).toEqual(
        one('items[2].key', /duplicate key "a" \(already used by items\[0\]\)/),
      );
    });

    it('reports an explicit key that collides with the default key of a keyless item', () => {
      const items = [item(), item({ key: '0' })];
      expect(createIssues(body({ items }))).toEqual(
        one('items[1].key', /key "0" collides with the default key of items\[0\]/),
      );
    });

    it('reports the collision when the keyless item comes later', () => {
      const items = [item({ key: '1' }), item()];
      expect(createIssues(body({ items }))).toEqual(
        one('items[0].key', /key "1" collides with the default key of items\[1\]/),
      );
    });
  });

  describe('dependencies', () => {
    it('accepts dependencies by explicit and by default key, in any order', () => {
      const items = [item({ depends_on: ['last'] }), item({ key: 'mid', depends_on: ['0'] }), item({ key: 'last' })];
      expect(createValue(body({ items })).items.map((i) => i.depends_on)).toEqual([['last'], ['0'], []]);
    });

    it('accepts a diamond', () => {
      const items = [
        item({ key: 'a', depends_on: ['b', 'c'] }),
        item({ key: 'b', depends_on: ['d'] }),
        item({ key: 'c', depends_on: ['d'] }),
        item({ key: 'd' }),
      ];
      expect(validateCreateChangeSet(body({ items }), limits).ok).toBe(true);
    });

    it('reports a 2-cycle once, naming its keys in order', () => {
      const items = [item({ key: 'a', depends_on: ['b'] }), item({ key: 'b', depends_on: ['a'] })];
      expect(createIssues(body({ items }))).toEqual([
        { path: 'items[0].depends_on', message: 'dependency cycle: a → b → a' },
      ]);
    });

    it('reports a 3-cycle once, naming its keys in order', () => {
      const items = [
        item({ key: 'x' }),
        item({ key: 'a', depends_on: ['x', 'b'] }),
        item({ key: 'b', depends_on: ['c'] }),
        item({ key: 'c', depends_on: ['a'] }),
      ];
      expect(createIssues(body({ items }))).toEqual([
        { path: 'items[1].depends_on', message: 'dependency cycle: a → b → c → a' },
      ]);
    });

    it('reports each of two separate cycles, including one through default keys', () => {
      const items = [
        item({ depends_on: ['1'] }),
        item({ depends_on: ['0'] }),
        item({ key: 'p', depends_on: ['q'] }),
        item({ key: 'q', depends_on: ['p'] }),
      ];
      expect(createIssues(body({ items }))).toEqual([
        { path: 'items[0].depends_on', message: 'dependency cycle: 0 → 1 → 0' },
        { path: 'items[2].depends_on', message: 'dependency cycle: p → q → p' },
      ]);
    });

    it('accepts a 10,000-item dependency chain', () => {
      const value = createValue(body({ items: chain(10_000) }));
      expect(value.items).toHaveLength(10_000);
      expect(value.items[9_999]!.depends_on).toEqual(['k9998']);
    });

    it('reports a 10,000-item cycle without overflowing the stack, abbreviating its keys', () => {
      const items = chain(10_000);
      items[0].depends_on = ['k9999'];
      const issues = createIssues(body({ items }));
      expect(issues).toEqual(
        one('items[0].depends_on', /^dependency cycle of 10000 items: k0 → k9999 → k9998 → .* → … → k1 → k0$/),
      );
    });
  });

  describe('the NUL character', () => {
    const nul: Array<[string, AnyBody, string]> = [
      ['the title', { title: 'a\u0000b' }, 'title'],
      ['the change_set_id', { change_set_id: 'cs\u0000' }, 'change_set_id'],
      ['a tag', { tags: ['ok', 'x\u0000'] }, 'tags[1]'],
      ['a metadata value', { metadata: { a: { b: ['\u0000'] } } }, 'metadata.a.b[0]'],
      ['a target_id', { items: [item({ target_id: 'a\u0000' })] }, 'items[0].target_id'],
      ['a key', { items: [item({ key: 'k\u0000' })] }, 'items[0].key'],
      [
        'a string deep inside after_state',
        { items: [item({ after_state: { a: [{ b: { c: 'x\u0000y' } }] } })] },
        'items[0].after_state.a[0].b.c',
      ],
      ['a before_state value', { items: [item({ before_state: 'x\u0000' })] }, 'items[0].before_state'],
      [
        'a patch value',
        { items: [patch([{ op: 'add', path: '/a', value: ['\u0000'] }])] },
        'items[0].diff_data[0].value[0]',
      ],
      ['a patch path', { items: [patch([{ op: 'remove', path: '/a\u0000' }])] }, 'items[0].diff_data[0].path'],
    ];
    it.each(nul)('is refused in %s', (_, fields, path) => {
      expect(createIssues(body(fields))).toEqual(one(path, /must not contain the NUL character/));
    });

    it('is refused in a key of after_state, reported at that key', () => {
      const issues = createIssues(body({ items: [item({ after_state: { ok: { 'bad\u0000key': 1 } } })] }));
      expect(issues).toEqual(
        one('items[0].after_state.ok["bad\\u0000key"]', /^key must not contain the NUL character/),
      );
    });

    it('is refused in a key of metadata', () => {
      expect(createIssues(body({ metadata: { '\u0000': true } }))).toEqual(
        one('metadata["\\u0000"]', /key must not contain the NUL character/),
      );
    });
  });

  it('reports all problems at once', () => {
    const issues = createIssues(
      body({
        title: '',
        priority: 'SOON',
        colour: 'red',
        items: [item({ target_id: '' }), item({ key: 'b', depends_on: ['missing'] })],
      }),
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual([
      'colour',
      'items[0].target_id',
      'items[1].depends_on[0]',
      'priority',
      'title',
    ]);
  });

  it('reports every item’s problems, not just the first', () => {
    const items = Array.from({ length: 50 }, () => item({ target_type: '' }));
    expect(createIssues(body({ items }))).toHaveLength(50);
  });

  it('refuses JSON nested more than 100 levels deep, and cyclic objects, without overflowing', () => {
    const deep = createIssues(body({ items: [item({ after_state: deeplyNested(100_000) })] }));
    expect(deep).toEqual([
      {
        path: expect.stringMatching(/^items\[0\]\.after_state/),
        message: expect.stringMatching(/more than 100 levels/),
      },
    ]);
    const cyclic: AnyBody = { a: 1 };
    cyclic.self = cyclic;
    expect(createIssues(body({ metadata: cyclic }))).toEqual([
      { path: expect.stringMatching(/^metadata(\.self)+$/), message: expect.stringMatching(/more than 100 levels/) },
    ]);
  });

  it('accepts JSON exactly 100 levels deep', () => {
    expect(validateCreateChangeSet(body({ items: [item({ after_state: deeplyNested(100) })] }), limits).ok).toBe(true);
  });

  const junk: Array<[string, unknown]> = [
    ['null', null],
    ['a number', 42],
    ['a string', 'x'],
    ['an array', []],
    ['true', true],
    ['undefined', undefined],
    ['a Map', new Map()],
    ['deeply nested arrays', deeplyNested(100_000)],
    ['an own __proto__ field', JSON.parse('{"__proto__":{"title":"x"}}')],
    ['items that are a string', { items: 'x' }],
    ['items of junk', { items: [null, [], 'x', 1, { depends_on: [null, {}] }, { diff_data: [null] }] }],
    [
      'fields of the wrong types',
      { change_set_id: {}, title: [], agent_type: null, tags: {}, metadata: null, items: {} },
    ],
  ];
  it.each(junk)('never throws on %s', (_, input) => {
    for (const validate of [validateCreateChangeSet, validateEditChangeSet]) {
      const result = validate(input, limits);
      expect(result.ok).toBe(false);
      expect(result.ok ? [] : result.issues.length).toBeGreaterThan(0);
    }
  });

  it('reports a body that is not an object at the empty path', () => {
    expect(createIssues([])).toEqual([{ path: '', message: 'must be a JSON object' }]);
  });

  it('accepts 10,000 items chained by depends_on (no recursion limit, no cycle reported)', () => {
    const input = body({ items: chain(10_000) });
    expect(validateCreateChangeSet(input, limits).ok).toBe(true);
  });
});

describe('validateEditChangeSet', () => {
  function editIssues(input: unknown): ValidationIssue[] {
    const result = validateEditChangeSet(input, limits);
    if (result.ok) throw new Error(`expected issues, got ${JSON.stringify(result.value)}`);
    return result.issues;
  }

  it('returns only the fields given, without defaults', () => {
    expect(validateEditChangeSet({ title: 'New title', description: null }, limits)).toEqual({
      ok: true,
      value: { title: 'New title', description: null },
    });
  });

  it('validates replacement items as create does, defaults included', () => {
    const result = validateEditChangeSet({ items: [item(), item({ key: 'b', depends_on: ['0'] })] }, limits);
    expect(result.ok && result.value.items?.map((i) => [i.key, i.depends_on])).toEqual([
      ['0', []],
      ['b', ['0']],
    ]);
  });

  it('refuses an empty patch', () => {
    expect(editIssues({})).toEqual([{ path: '', message: 'nothing to change' }]);
  });

  const rules: Array<[string, AnyBody, string, RegExp]> = [
    ['a change_set_id', { change_set_id: 'cs-2' }, 'change_set_id', /^cannot be changed$/],
    ['an agent_id', { agent_id: 'other' }, 'agent_id', /^cannot be changed$/],
    ['an unknown field', { status: 'APPROVED' }, 'status', /^unknown field$/],
    ['a blank title', { title: ' ' }, 'title', /must not be blank/],
    ['a bad category', { category: 'Ui' }, 'category', /upper-case word/],
    ['a bad priority', { priority: 'low' }, 'priority', /one of: LOW/],
    ['a null tags', { tags: null }, 'tags', /must be an array/],
    ['a string auto_apply', { auto_apply: 'false' }, 'auto_apply', /true or false/],
    ['no items', { items: [] }, 'items', /at least 1 item/],
    ['a bad item', { items: [item({ operation_type: 'DELETE' })] }, 'items[0].after_state', /not allowed for DELETE/],
  ];
  it.each(rules)('reports %s at its path', (_, patch, path, message) => {
    expect(editIssues(patch)).toEqual(one(path, message));
  });
});

describe('validationError', () => {
  it('is a 400 VALIDATION_FAILED naming the first three problems, with all of them in details', () => {
    const issues = createIssues(
      body({ title: '', priority: 'SOON', colour: 'red', auto_apply: 1, items: [item({ target_id: '' })] }),
    );
    expect(issues).toHaveLength(5);
    const error = validationError(issues);
    expect(error).toBeInstanceOf(LedgerError);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.statusCode).toBe(400);
    expect(error.message).toBe(
      '5 problems: colour: unknown field; title: must not be blank; priority: must be one of: LOW, NORMAL, HIGH, CRITICAL; and 2 more',
    );
    expect(error.details).toEqual(issues);
    expect(error.details?.find((d) => d.path === 'priority')?.['allowed']).toEqual([
      'LOW',
      'NORMAL',
      'HIGH',
      'CRITICAL',
    ]);
    expect(error.toBody()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', details: issues });
  });

  it('says "1 problem" and names the body when the path is empty', () => {
    expect(validationError([{ path: '', message: 'nothing to change' }]).message).toBe(
      '1 problem: (body): nothing to change',
    );
    expect(validationError([{ path: 'items[3].target_id', message: 'must be 1–512 characters' }]).message).toBe(
      '1 problem: items[3].target_id: must be 1–512 characters',
    );
  });
});

describe('ID_PATTERN', () => {
  it.each(['a', 'cs-1', 'agent.infra_2', 'A'.repeat(64), '...', '-'])('accepts %j', (id) => {
    expect(ID_PATTERN.test(id)).toBe(true);
  });
  it.each(['', 'a b', 'a/b', 'é', 'A'.repeat(65), 'a\u0000', 'a\n'])('refuses %j', (id) => {
    expect(ID_PATTERN.test(id)).toBe(false);
  });
});
